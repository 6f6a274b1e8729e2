import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openAdapters, type Adapters } from '../../core/adapters/select.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { StatusBoard } from '../../core/status-board.ts';
import { gapId, type Gap } from '../../core/records/gap.ts';
import { tradeId, type Trade, type Venue } from '../../core/records/trade.ts';
import type { StreamsStatus, VenueStreamStatus } from '../../core/records/status.ts';
import { startProcessor } from '../../processor/start.ts';
import { startLakeQuery, type LakeQueryServer } from '../../lake-query/server.ts';
import { FixtureLake } from '../support/fixture-lake.ts';
import { buildDashboard } from '../../dashboard/build.ts';

const SHOTS = 'test-artifacts/screenshots';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-sync',
];

/** Trade ids of the seeded gap on binance BTCUSDT: missed and not refilled. It lies among the 50 newest trades. */
const GAP = { first: 1_371, last: 1_380 };
/** The trades after the gap that a REST refill brought back. */
const REFILLED = 5;

/**
 * Trades of one market over the last 40 minutes, every 6 s (400 on binance), as the stream readers
 * publish them; on binance the ids of the gap are left out, and the few after it came back over REST.
 */
function trades(venue: Venue, market: string, symbol: string, firstId: number, count: number, now: number): Trade[] {
  const out: Trade[] = [];
  let price = 64_000;
  let seed = firstId;
  const random = () => (seed = (seed * 16_807) % 2_147_483_647) / 2_147_483_647;
  for (let i = 0; i < count; i++) {
    const id = firstId + i;
    price *= 1 + (random() - 0.5) * 0.002;
    if (venue === 'binance' && id >= GAP.first && id <= GAP.last) continue;
    const ts = now - 40 * 60_000 + Math.floor((i * 40 * 60_000) / count);
    out.push({
      id: tradeId(venue, market, id),
      ts,
      symbol,
      venue,
      market,
      price: Math.round(price * 100) / 100,
      qty: Math.round(random() * 1e6) / 1e6 + 0.001,
      side: random() < 0.55 ? 'buy' : 'sell',
      trade_id: id,
      via: venue === 'binance' && id > GAP.last && id <= GAP.last + REFILLED ? 'rest' : 'stream',
      ingested_at: ts + 40,
    });
  }
  return out;
}

function venueStatus(venue: string, markets: string[], patch: Partial<VenueStreamStatus>): VenueStreamStatus {
  return {
    venue,
    markets,
    connected: true,
    connections: 1,
    tradesReceived: 0,
    tickersReceived: 0,
    duplicatesDropped: 0,
    malformedFrames: 0,
    tradesMissed: 0,
    tradesRefilled: 0,
    tradesCoveredByReplicas: 0,
    gapsRecorded: 0,
    buffered: 0,
    paused: false,
    lastTradeAt: null,
    lastError: null,
    lastErrorAt: null,
    ...patch,
  };
}

describe('trades and streams in the dashboard', () => {
  let fixture: FixtureLake;
  let adapters: Adapters;
  let server: LakeQueryServer;
  let processor: Awaited<ReturnType<typeof startProcessor>>;
  let browser: Browser;
  let page: Page;
  const now = Date.now();
  const binance = trades('binance', 'BTCUSDT', 'BTC', 1_001, 400, now);
  const coinbase = trades('coinbase', 'BTC-USD', 'BTC', 5_000_001, 120, now);

  before(async () => {
    await buildDashboard();
    await mkdir(SHOTS, { recursive: true });
    fixture = await FixtureLake.create();
    await fixture.writePrices([{ symbol: 'BTC', ts: now - 120_000, price: 64_000, source: 'synthetic' }]);
    // A long flush interval: the test drains the processor when it wants the trades in the lake.
    const env = { LAKE_DIR: fixture.root, PROVIDERS: 'synthetic', FLUSH_INTERVAL_MS: '120000', PORT: '0' };
    adapters = await openAdapters(env, silentLogger);
    const metrics = new Metrics();
    processor = await startProcessor(adapters, env, silentLogger, metrics);
    server = await startLakeQuery(adapters, env, silentLogger, metrics);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, colorScheme: 'dark' });
    await page.goto(server.url);
  });

  after(async () => {
    await browser?.close();
    await processor?.stop();
    await server?.close();
    await adapters?.close();
    await fixture?.remove();
  });

  it('says how to turn the trade streams on while the lake has no trades', async () => {
    await page.locator('#trades-empty:not([hidden])').waitFor();
    assert.match(await page.locator('#trades-empty').innerText(), /Trade streams are off[\s\S]*STREAM_VENUES=binance,coinbase,kraken/);
    assert.equal(await page.locator('#trades-body').isVisible(), false);
    assert.equal(await page.locator('#trade-market').isDisabled(), true);
    assert.match(await page.locator('#streams').innerText(), /STREAM_VENUES=binance,coinbase,kraken/);
    assert.equal(await page.locator('#gap-count').innerText(), '0 gaps');
  });

  it('shows the busiest market, its candles with volume, the tape with refilled trades, the streams and the gap', async () => {
    const gap: Gap = {
      id: gapId('binance', 'BTCUSDT', GAP.first, GAP.last),
      venue: 'binance',
      market: 'BTCUSDT',
      symbol: 'BTC',
      first_trade_id: GAP.first,
      last_trade_id: GAP.last,
      missing: GAP.last - GAP.first + 1,
      from_ts: binance.find((t) => t.trade_id === GAP.first - 1)!.ts,
      to_ts: binance.find((t) => t.trade_id === GAP.last + 1)!.ts,
      cause: 'reconnect',
      reason: 'history does not go back that far',
      detected_at: now - 60_000,
    };
    // The first 12 binance trades come twice, as two stream replicas publish them: the lake keeps them once.
    await adapters.bus.publish(
      'trades',
      [...binance, ...coinbase, ...binance.slice(0, 12)].map((t) => ({ key: `${t.venue}:${t.market}`, value: JSON.stringify(t) })),
    );
    await adapters.bus.publish('gaps', [{ key: 'binance:BTCUSDT', value: JSON.stringify(gap) }]);
    const streams: StreamsStatus = {
      part: 'streams',
      instance: 'browser-test',
      updatedAt: Date.now(),
      venues: [
        venueStatus('binance', ['BTCUSDT'], {
          tradesReceived: 390,
          duplicatesDropped: 7,
          tradesMissed: 15,
          tradesRefilled: 5,
          gapsRecorded: 1,
          buffered: 3,
          connections: 2,
          lastTradeAt: now,
        }),
        venueStatus('coinbase', ['BTC-USD'], {
          connected: false,
          tradesReceived: 120,
          lastError: 'WebSocket closed with code 1006',
          lastErrorAt: now - 3_000,
        }),
      ],
    };
    await new StatusBoard(adapters.cache, 600).publish('streams', streams);
    await new StatusBoard(adapters.cache, 600).publish('streams', {
      ...streams,
      instance: 'browser-test-2',
      venues: [venueStatus('binance', ['BTCUSDT'], { connections: 5, tradesReceived: 380, lastTradeAt: now })],
    });
    await processor.drain(20_000);

    const candlesAnswer = page.waitForResponse((r) => r.url().includes('/api/trade-candles?venue=binance&market=BTCUSDT'), {
      timeout: 20_000,
    });
    await page.waitForFunction(
      () => document.querySelector('#trade-chart')?.getAttribute('data-loaded') === 'binance:BTCUSDT/1m',
      undefined,
      {
        timeout: 20_000,
      },
    );
    const answer = await candlesAnswer;
    assert.equal(answer.status(), 200);
    const { candles } = (await answer.json()) as { candles: { time: number; close: number; trades: number }[] };
    assert.ok(candles.length >= 38, `${candles.length} candles`);
    assert.equal(
      candles.reduce((sum, c) => sum + c.trades, 0),
      binance.length,
    );

    // The picker lists both markets, the busiest first and chosen.
    assert.deepEqual(await page.locator('#trade-market option').allInnerTexts(), ['binance · BTCUSDT', 'coinbase · BTC-USD']);
    assert.equal(await page.locator('#trade-market').inputValue(), 'binance:BTCUSDT');
    assert.equal(await page.locator('#trades-empty').isVisible(), false);
    // The chart drew on its canvases, and its legend shows the last candle's close.
    assert.ok((await page.locator('#trade-chart canvas').count()) > 0);
    assert.equal(Number(await page.locator('#trade-chart').getAttribute('data-candles')), candles.length);
    const lastClose = binance.at(-1)!.price.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    assert.match(await page.locator('#trade-legend').innerText(), new RegExp(`C ${lastClose.replace('.', '\\.')}`));

    // The tape: newest first, the taker's side in colour, refilled trades marked.
    const rows = page.locator('#tape tr[data-trade]');
    assert.equal(await rows.count(), 50);
    const newest = binance.at(-1)!;
    assert.equal(await rows.first().getAttribute('data-trade'), String(newest.trade_id));
    assert.equal(await rows.first().locator('td').first().innerText(), new Date(newest.ts).toISOString().slice(11, 23));
    assert.match((await rows.first().locator('td.side').getAttribute('class')) ?? '', newest.side === 'buy' ? /\bup\b/ : /\bdown\b/);
    assert.equal(await page.locator('#tape tr[data-via="rest"] .tag.rest').count(), REFILLED);
    assert.equal(await page.locator('#tape tr[data-via="stream"] .tag.rest').count(), 0);
    assert.equal(await page.locator(`#tape tr[data-trade="${GAP.first}"]`).count(), 0);

    // The streams card: each venue's state and figures over the replicas, the last error, and the gap never hidden.
    const up = page.locator('#streams [data-venue="binance"]');
    assert.match(await up.innerText(), /CONNECTED[\s\S]*trades\s*770[\s\S]*dupes dropped\s*7[\s\S]*refilled\s*5[\s\S]*gaps\s*1/i);
    assert.match(await page.locator('#streams [data-venue="coinbase"]').innerText(), /DISCONNECTED[\s\S]*WebSocket closed with code 1006/);
    // Each replica with its connections, and the duplicates the lake dropped.
    assert.match(await page.locator('#streams .replicas').innerText(), /2 replicas/i);
    assert.match(
      await page.locator('#streams [data-replica="browser-test"]').innerText(),
      /browser-test[\s\S]*binance\s*up · 2 conn[\s\S]*coinbase\s*down · 1 conn/i,
    );
    assert.match(await page.locator('#streams [data-replica="browser-test-2"]').innerText(), /binance\s*up · 5 conn/i);
    await page.locator('#streams .lake-duplicates[data-trades="12"]').waitFor({ timeout: 20_000 });
    assert.match(await page.locator('#streams .lake-duplicates').innerText(), /dropped 12 duplicate trades and 0 duplicate prices/);
    await page.locator(`#gaps li[data-gap="${gap.id}"]`).waitFor();
    assert.match(
      await page.locator(`#gaps li[data-gap="${gap.id}"]`).innerText(),
      /reconnect[\s\S]*binance · BTCUSDT[\s\S]*10 missing[\s\S]*ids 1371–1380[\s\S]*UTC[\s\S]*history does not go back that far/,
    );
    assert.equal(await page.locator('#gap-count').innerText(), '1 gap');
    await page.locator('#trades-card').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/trades-dark.png`, fullPage: true });
  });

  it('switches the market and the interval', async () => {
    await page.locator('#trade-market').selectOption('coinbase:BTC-USD');
    await page.waitForFunction(() => document.querySelector('#trade-chart')?.getAttribute('data-loaded') === 'coinbase:BTC-USD/1m');
    assert.match(page.url(), /market=coinbase%3ABTC-USD/);
    assert.match(await page.locator('#trade-summary').innerText(), /^120 trades · [\d.]+ BTC in 24 h/);
    assert.equal(await page.locator('#tape tr[data-trade]').first().getAttribute('data-trade'), String(coinbase.at(-1)!.trade_id));
    await page.locator('#trade-intervals button[data-value="5m"]').click();
    await page.waitForFunction(() => document.querySelector('#trade-chart')?.getAttribute('data-loaded') === 'coinbase:BTC-USD/5m');
    assert.equal(await page.locator('#trade-intervals button[data-value="5m"]').getAttribute('aria-pressed'), 'true');
    assert.ok(Number(await page.locator('#trade-chart').getAttribute('data-candles')) <= 9);
    await page.locator('#theme').click();
    await page.screenshot({ path: `${SHOTS}/trades-light.png`, fullPage: true });
  });
});

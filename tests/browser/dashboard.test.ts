import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openAdapters, type Adapters } from '../../core/adapters/select.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { StatusBoard } from '../../core/status-board.ts';
import { toPriceRecord } from '../../core/records/price.ts';
import type { ScraperStatus } from '../../core/records/status.ts';
import { startProcessor } from '../../processor/start.ts';
import { startLakeQuery, type LakeQueryServer } from '../../lake-query/server.ts';
import { FixtureLake, type FixturePrice } from '../support/fixture-lake.ts';
import { buildDashboard } from '../../dashboard/build.ts';

const SHOTS = 'test-artifacts/screenshots';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Two days of a seeded random walk for three symbols, from two sources in the last hour. */
function history(now: number): FixturePrice[] {
  const start = { BTC: 64_000, ETH: 3_200, SOL: 150 };
  const prices: FixturePrice[] = [];
  let seed = 7;
  const random = () => (seed = (seed * 16_807) % 2_147_483_647) / 2_147_483_647 - 0.5;
  for (const [symbol, first] of Object.entries(start)) {
    let price = first;
    for (let ts = now - 2 * 86_400_000; ts < now - 60_000; ts += ts > now - 3_600_000 ? 20_000 : 300_000) {
      price *= 1 + random() * 0.004;
      prices.push({ symbol, ts, price, source: 'synthetic', change24hPct: 1.25, volume24hUsd: 1e9 });
      if (ts > now - 3_600_000) prices.push({ symbol, ts: ts + 1, price: price * 1.001, source: 'replay' });
    }
  }
  return prices;
}

describe('dashboard in a browser', () => {
  let fixture: FixtureLake;
  let adapters: Adapters;
  let server: LakeQueryServer;
  let processor: Awaited<ReturnType<typeof startProcessor>>;
  let browser: Browser;
  let page: Page;

  before(async () => {
    await buildDashboard();
    await mkdir(SHOTS, { recursive: true });
    fixture = await FixtureLake.create();
    await fixture.writePrices(history(Date.now()));
    // Two days of history in a running lake sit in data files: maintenance writes inlined rows out.
    await fixture.rows(`CALL ducklake_flush_inlined_data('lake')`);
    // A long flush interval: a price published during the tests can only reach the page live.
    // A small byte cap on console answers, so that one test can show a cut answer.
    const env = { LAKE_DIR: fixture.root, PROVIDERS: 'synthetic', FLUSH_INTERVAL_MS: '120000', PORT: '0', SQL_MAX_BYTES: '20000' };
    adapters = await openAdapters(env, silentLogger);
    const metrics = new Metrics();
    processor = await startProcessor(adapters, env, silentLogger, metrics);
    server = await startLakeQuery(adapters, env, silentLogger, metrics);
    await server.live;
    const scraper: ScraperStatus = {
      part: 'scraper',
      instance: 'browser-test',
      updatedAt: Date.now(),
      synthetic: true,
      symbols: ['BTC', 'ETH', 'SOL'],
      polls: 10,
      lastPollAt: Date.now(),
      published: 30,
      deadLettered: 0,
      unserved: [],
      recentFallbacks: [{ at: Date.now() - 5_000, symbol: 'ETH', from: 'coingecko', to: 'synthetic', reason: 'HTTP 429 rate limited' }],
      providers: [
        {
          name: 'coingecko',
          kind: 'live',
          ok: false,
          requests: 10,
          failures: 10,
          failuresByKind: { http_429: 7, timeout: 3 },
          recordsServed: 0,
          cacheHits: 0,
          fallbacks: 10,
          lastLatencyMs: null,
          lastSuccessAt: null,
          lastError: 'GET /api/v3/coins/markets: HTTP 429 Too Many Requests',
          lastErrorAt: Date.now() - 2_000,
        },
        {
          name: 'synthetic',
          kind: 'synthetic',
          ok: true,
          requests: 10,
          failures: 0,
          failuresByKind: {},
          recordsServed: 30,
          cacheHits: 4,
          fallbacks: 0,
          lastLatencyMs: 3,
          lastSuccessAt: Date.now(),
          lastError: null,
          lastErrorAt: null,
        },
      ],
    };
    await new StatusBoard(adapters.cache, 600).publish('scraper', scraper);
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

  it('loads with prices, a chart, providers with their failures, the pipeline and the partitions', async () => {
    await page.locator('#latest tr[data-symbol="BTC"]').waitFor();
    assert.deepEqual(await page.locator('#latest tr[data-symbol]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-symbol'))), [
      'BTC',
      'ETH',
      'SOL',
    ]);
    await page.waitForFunction(() => document.querySelector('#chart')?.getAttribute('data-loaded') === 'BTC/1m');
    assert.equal(await page.locator('#synthetic').isVisible(), true);
    const down = page.locator('#providers [data-provider="coingecko"]');
    assert.match(await down.innerText(), /DOWN[\s\S]*http_429 ×7[\s\S]*HTTP 429 Too Many Requests/);
    assert.match(await page.locator('#providers').innerText(), /ETH: coingecko → synthetic/);
    await page.waitForFunction(() => document.querySelectorAll('#partitions tr').length >= 2);
    assert.match(await page.locator('#pipeline').innerText(), /[1-9][\d,]* files/);
    await page.waitForFunction(() => document.querySelector('#indicators')?.textContent?.includes('SMA'));
    assert.match(await page.locator('#indicators').innerText(), /spread\s+[\d.]+% · 2 src/i);
    await page.screenshot({ path: `${SHOTS}/dashboard-dark.png`, fullPage: true });
  });

  it('shows a price published on the bus at once, before the lake has it', async () => {
    await page.locator('#live.on').waitFor();
    const record = toPriceRecord({ source: 'synthetic', symbol: 'BTC', ts: Date.now(), price_usd: 71_234.56 }, Date.now());
    const published = Date.now();
    await adapters.bus.publish('prices', [{ key: 'BTC', value: JSON.stringify(record) }]);
    await page.waitForFunction(() => document.querySelector('#last-price')?.textContent === '71,234.56', undefined, { timeout: 5_000 });
    const elapsed = Date.now() - published;
    // The lake cannot have it (flush every 120 s): only the stream can bring it. A second, with slack for a loaded test machine.
    assert.ok(elapsed < 2_000, `shown after ${elapsed} ms`);
    // The table redraws on the next animation frame, which a loaded machine may run after this point.
    await page.waitForFunction(
      () => document.querySelector('#latest tr[data-symbol="BTC"] td.price')?.textContent === '71,234.56',
      undefined,
      { timeout: 2_000 },
    );
    // The same record again (at-least-once delivery) changes nothing.
    await adapters.bus.publish('prices', [{ key: 'BTC', value: JSON.stringify(record) }]);
    await page.screenshot({ path: `${SHOTS}/live-tick.png` });
  });

  it('redraws the chart when the symbol and the interval change', async () => {
    await page.locator('#latest tr[data-symbol="ETH"] button').click();
    await page.waitForFunction(() => document.querySelector('#chart')?.getAttribute('data-loaded') === 'ETH/1m');
    assert.equal(await page.locator('#chart-symbol').innerText(), 'ETH');
    await page.locator('#intervals button[data-value="1h"]').click();
    await page.locator('#ranges button[data-value="1W"]').click();
    await page.waitForFunction(() => document.querySelector('#chart')?.getAttribute('data-loaded') === 'ETH/1h');
    assert.equal(await page.locator('#intervals button[data-value="1h"]').getAttribute('aria-pressed'), 'true');
    assert.match(page.url(), /symbol=ETH&interval=1h&range=1W/);
    // The chart says what it shows: the composite of both sources, or the one chosen.
    await page.waitForFunction(() =>
      document.querySelector('#chart-basis')?.textContent?.includes('median of 2 sources (replay, synthetic)'),
    );
    await page.locator('#chart-source').selectOption('replay');
    await page.waitForFunction(() => document.querySelector('#chart-basis')?.textContent === 'replay alone');
    assert.match(page.url(), /source=replay/);
    await page.locator('#symbol-search').fill('sol');
    await page.locator('#symbol-search').press('Enter');
    await page.waitForFunction(() => document.querySelector('#chart')?.getAttribute('data-loaded') === 'SOL/1h');
    await page.waitForFunction(() => document.querySelector('#chart-basis')?.textContent?.startsWith('Composite'));
    await page.screenshot({ path: `${SHOTS}/chart-sol-1h.png` });
  });

  it('runs a query in the SQL console with Ctrl+Enter and refuses a forbidden one with the reason', async () => {
    const input = page.locator('#sql-input');
    await input.fill("SELECT symbol, count(*)::INTEGER AS n FROM prices WHERE source = 'replay' GROUP BY 1 ORDER BY 1");
    await input.press('Control+Enter');
    await page.locator('#sql-result table.result tbody tr').nth(2).waitFor();
    const rows = await page.locator('#sql-result tbody tr').evaluateAll((trs) => trs.map((tr) => tr.children[0]?.textContent));
    assert.deepEqual(rows, ['BTC', 'ETH', 'SOL']);
    assert.match(await page.locator('#sql-status').innerText(), /^3 rows in/);
    assert.equal(await page.locator('#sql-csv').isEnabled(), true);
    await page.screenshot({ path: `${SHOTS}/sql-ok.png`, fullPage: true });

    await input.fill("SELECT * FROM read_text('/etc/passwd')");
    await page.locator('#sql-run').click();
    await page.waitForFunction(() => document.querySelector('#sql-status')?.classList.contains('error'));
    assert.match(await page.locator('#sql-status').innerText(), /sql: table function read_text\(\): not allowed/);
    assert.equal(await page.locator('#sql-result tr').count(), 0);
    assert.doesNotMatch(await page.content(), /root:x:0:0/);
    await page.screenshot({ path: `${SHOTS}/sql-refused.png`, fullPage: true });

    // An answer past its byte cap shows what fits and says it was cut, and by which cap.
    await input.fill('SELECT symbol, ts, price_usd FROM prices ORDER BY ts');
    await input.press('Control+Enter');
    await page.waitForFunction(() => document.querySelector('#sql-status')?.classList.contains('warn'));
    assert.match(await page.locator('#sql-status').innerText(), /^\d+ rows in [\d,]+ ms · cut at 20 KiB of results/);
    assert.ok((await page.locator('#sql-result tbody tr').count()) > 100);
  });

  it('switches to the light theme and remembers it', async () => {
    await page.locator('#theme').click();
    assert.equal(await page.locator('html').getAttribute('data-theme'), 'light');
    await page.reload();
    assert.equal(await page.locator('html').getAttribute('data-theme'), 'light');
    await page.locator('#latest tr[data-symbol="BTC"]').waitFor();
    await page.waitForFunction(() => document.querySelector('#chart')?.hasAttribute('data-loaded'));
    await page.screenshot({ path: `${SHOTS}/dashboard-light.png`, fullPage: true });
  });
});

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAdapters, type Adapters } from '../../core/adapters/select.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { tradeId } from '../../core/records/trade.ts';
import { waitFor } from '../../core/testing/wait.ts';
import type { StreamsReport } from '../../lake-query/http/streams.ts';
import { startLakeQuery } from '../../lake-query/server.ts';
import type { GapItem, TradeCandle, TradeItem, TradeMarket } from '../../lake-query/trade-queries.ts';
import { startProcessor } from '../../processor/start.ts';
import { startScraper } from '../../scraper/start.ts';
import { startFakeVenue, type FakeTrade, type FakeVenue, type FakeVenueName } from '../../scraper/streams/venues/fake-venue.ts';
import { fakeVenueEnv } from '../../scraper/streams/venues/fake-venue-env.ts';
import { QUICK_STREAM_ENV, TEST_MARKETS } from '../../scraper/streams/testing/quick-streams.ts';

const VENUE_NAMES = Object.keys(TEST_MARKETS) as FakeVenueName[];
const MARKET_LIST = VENUE_NAMES.flatMap((venue) => TEST_MARKETS[venue].map((market) => ({ venue, market })));
// Ids neither streamed nor kept in REST history: the only gaps the lake may hold. Different
// counts per venue, so a gap recorded on the wrong venue cannot add up by chance.
const BURNS: Record<FakeVenueName, { market: string; count: number }> = {
  binance: { market: 'BTCUSDT', count: 5 },
  coinbase: { market: 'ETH-USD', count: 7 },
  kraken: { market: 'BTC/USD', count: 9 },
};
const TRADES_PER_SECOND = 300;
const MINUTE = 60_000;
// Fewer than `limit=1000`, so a page of /api/trades is never cut.
const PAGE_TRADES = 900;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const key = (venue: string, market: string) => `${venue} ${market}`;
const symbolOf = (market: string) => market.slice(0, 3);

function assertClose(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} != ${expected}`);
}

/** Time windows [from, to) over trades in id (and so time) order, each holding at most `max` trades. */
function pages(trades: FakeTrade[], max: number): [number, number][] {
  const windows: [number, number][] = [];
  let from = trades[0]!.ts;
  let count = 0;
  for (const trade of trades) {
    // Cut only between milliseconds: a window bound inside one would split its trades.
    if (count >= max && trade.ts > from) {
      windows.push([from, trade.ts]);
      from = trade.ts;
      count = 0;
    }
    count += 1;
  }
  windows.push([from, trades.at(-1)!.ts + 1]);
  return windows;
}

/** The holes in a market's trade ids: what the venue burned. */
function holes(trades: FakeTrade[]): { first: number; last: number }[] {
  const found: { first: number; last: number }[] = [];
  for (let i = 1; i < trades.length; i += 1) {
    const [previous, next] = [trades[i - 1]!.tradeId, trades[i]!.tradeId];
    if (next > previous + 1) found.push({ first: previous + 1, last: next - 1 });
  }
  return found;
}

/** The 1-minute candles of the venue's own trades: OHLC in trade-id order, summed volumes. */
function expectedCandles(trades: FakeTrade[]): TradeCandle[] {
  const byMinute = new Map<number, FakeTrade[]>();
  for (const trade of trades) {
    const minute = Math.floor(trade.ts / MINUTE) * MINUTE;
    byMinute.set(minute, [...(byMinute.get(minute) ?? []), trade]);
  }
  return [...byMinute].map(([time, list]) => ({
    time,
    open: list[0]!.price,
    high: Math.max(...list.map((t) => t.price)),
    low: Math.min(...list.map((t) => t.price)),
    close: list.at(-1)!.price,
    volume: list.reduce((sum, t) => sum + t.qty, 0),
    quoteVolume: list.reduce((sum, t) => sum + t.price * t.qty, 0),
    buyVolume: list.reduce((sum, t) => sum + (t.takerSide === 'buy' ? t.qty : 0), 0),
    trades: list.length,
  }));
}

describe('exchange trade streams through scraper, processor, lake and API on embedded defaults', () => {
  const venues = new Map<FakeVenueName, FakeVenue>();
  const cleanups: (() => Promise<unknown>)[] = [];
  /** Per market: what the venue made from the first trade the scraper saw on, in id order. */
  const truth = new Map<string, FakeTrade[]>();
  let apiUrl = '';
  let whileRunning: StreamsReport | undefined;

  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${apiUrl}${path}`);
    const body = (await response.json()) as T;
    assert.equal(response.status, 200, `${path}: ${JSON.stringify(body)}`);
    return body;
  };
  const sql = async (text: string): Promise<unknown[][]> => {
    const response = await fetch(`${apiUrl}/api/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: text }),
    });
    const body = (await response.json()) as { rows: unknown[][]; truncated: boolean; error?: string };
    assert.equal(response.status, 200, body.error);
    assert.equal(body.truncated, false);
    return body.rows;
  };

  before(async () => {
    const lakeDir = await mkdtemp(join(tmpdir(), 'cryptolake-trade-streams-'));
    cleanups.push(() => rm(lakeDir, { recursive: true, force: true }));
    for (const [index, venue] of VENUE_NAMES.entries()) {
      const fake = await startFakeVenue({ venue, markets: TEST_MARKETS[venue], tradesPerSecond: TRADES_PER_SECOND, seed: 30 + index });
      venues.set(venue, fake);
      cleanups.push(() => fake.close());
    }
    const env: Record<string, string> = {
      PROVIDERS: 'synthetic',
      SYMBOLS: 'BTC',
      // One poll at start, then none: the prices stay out of the way.
      POLL_INTERVAL_MS: '3600000',
      LAKE_DIR: lakeDir,
      FLUSH_INTERVAL_MS: '500',
      ...QUICK_STREAM_ENV,
      ...fakeVenueEnv(venues.values()),
    };
    const metrics = new Metrics();
    const adapters: Adapters = await openAdapters(env, silentLogger);
    cleanups.push(() => adapters.close());
    const processor = await startProcessor(adapters, env, silentLogger, metrics);
    let processorStopped = false;
    cleanups.push(async () => processorStopped || (await processor.stop()));
    const lakeQuery = await startLakeQuery(adapters, { ...env, PORT: '0' }, silentLogger, metrics);
    cleanups.push(() => lakeQuery.close());
    apiUrl = lakeQuery.url;
    const scraper = await startScraper(adapters, env, silentLogger, metrics);
    let scraperStopped = false;
    cleanups.push(async () => scraperStopped || (await scraper.stop()));

    const streams = () => get<StreamsReport>('/api/streams');
    const reading = (report: StreamsReport, connections: number) =>
      report.venues.length === VENUE_NAMES.length &&
      report.venues.every((v) => v.connected && v.connections >= connections && v.tradesReceived > 0);
    await waitFor(async () => reading(await streams(), 1), 15_000, 'trades from every venue');
    for (let round = 0; round < 3; round += 1) {
      await sleep(1_000);
      for (const venue of venues.values()) venue.killConnections();
    }
    await waitFor(() => [...venues.values()].every((venue) => venue.stats().openConnections > 0), 10_000, 'reconnections');
    await sleep(300);
    for (const [name, venue] of venues) venue.skipForever(BURNS[name].market, BURNS[name].count);
    // Trading goes on over the burned ids (the trades after them open the holes) until the status
    // board shows every venue back, after its first connection and the 3 kills.
    whileRunning = await waitFor(
      async () => {
        const report = await streams();
        return reading(report, 4) ? report : undefined;
      },
      10_000,
      'every venue reading again after the kills',
    );
    await sleep(500);
    for (const venue of venues.values()) venue.setRate(0);
    await sleep(300);
    // One last trade per market closes any hole still open at the end of each stream.
    for (const [name, venue] of venues) for (const market of TEST_MARKETS[name]) venue.emit(market, 1);
    await sleep(800);
    scraperStopped = true;
    await scraper.stop();
    await processor.drain(30_000);
    processorStopped = true;
    await processor.stop();

    const firsts = await sql('SELECT venue, market, min(trade_id) FROM trades GROUP BY ALL');
    for (const { venue, market } of MARKET_LIST) {
      const first = firsts.find(([v, m]) => v === venue && m === market);
      assert.ok(first, `${venue} ${market}: no trade in the lake`);
      // A stream starts with the first trade it sees: what the venue made before is not its business.
      const start = Number(first[2]);
      truth.set(
        key(venue, market),
        venues
          .get(venue)!
          .trades(market)
          .filter((trade) => trade.tradeId >= start),
      );
    }
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('stores every trade the venues made exactly once, as /api/trades and the SQL console show', async () => {
    const rows = await sql(
      'SELECT venue, market, count(*), count(DISTINCT id), min(trade_id), max(trade_id) FROM trades GROUP BY ALL ORDER BY ALL',
    );
    assert.deepEqual(
      rows.map((row) => [row[0], row[1], ...row.slice(2).map(Number)]),
      MARKET_LIST.map(({ venue, market }) => {
        const made = truth.get(key(venue, market))!;
        return [venue, market, made.length, made.length, made[0]!.tradeId, made.at(-1)!.tradeId];
      }).sort((a, b) => (key(a[0] as string, a[1] as string) < key(b[0] as string, b[1] as string) ? -1 : 1)),
    );

    let viaRest = 0;
    for (const { venue, market } of MARKET_LIST) {
      const made = truth.get(key(venue, market))!;
      assert.ok(made.length > TRADES_PER_SECOND * 3, `${venue} ${market}: only ${made.length} trades`);
      const served: TradeItem[] = [];
      for (const [from, to] of pages(made, PAGE_TRADES)) {
        const query = new URLSearchParams({ venue, market, from: String(from), to: String(to), limit: '1000' });
        const { trades } = await get<{ trades: TradeItem[] }>(`/api/trades?${query}`);
        assert.ok(trades.length < 1000, `${venue} ${market}: a page was cut at ${trades.length} trades`);
        served.push(...trades);
      }
      served.sort((a, b) => a.tradeId - b.tradeId);
      const rest = served.filter((trade) => trade.via === 'rest').length;
      assert.ok(rest < served.length, `${venue} ${market}: nothing came over the stream`);
      viaRest += rest;
      assert.deepEqual(
        served.map(({ via: _via, ...trade }) => trade),
        made.map((trade) => ({
          id: tradeId(venue, market, trade.tradeId),
          ts: trade.ts,
          symbol: symbolOf(market),
          venue,
          market,
          price: trade.price,
          qty: trade.qty,
          side: trade.takerSide,
          tradeId: trade.tradeId,
        })),
        `${venue} ${market}: the trades served are the venue's`,
      );
    }
    assert.ok(viaRest > 0, 'the trades made while disconnected were fetched back from REST history');
  });

  it('lists exactly the burned ids as gaps', async () => {
    const { gaps } = await get<{ gaps: GapItem[] }>('/api/gaps?limit=1000');
    const expected = MARKET_LIST.flatMap(({ venue, market }) =>
      holes(truth.get(key(venue, market))!).map((hole) => ({
        venue,
        market,
        firstTradeId: hole.first,
        lastTradeId: hole.last,
        missing: hole.last - hole.first + 1,
        cause: 'sequence',
      })),
    );
    // The venues' own record has exactly the holes the test burned.
    assert.deepEqual(
      expected.map((gap) => [gap.venue, gap.market, gap.missing]),
      VENUE_NAMES.map((venue) => [venue, BURNS[venue].market, BURNS[venue].count]),
    );
    const byId = (a: { venue: string; market: string; firstTradeId: number }, b: typeof a) =>
      key(a.venue, a.market) < key(b.venue, b.market)
        ? -1
        : key(a.venue, a.market) > key(b.venue, b.market)
          ? 1
          : a.firstTradeId - b.firstTradeId;
    assert.deepEqual(
      gaps
        .map(({ venue, market, firstTradeId, lastTradeId, missing, cause }) => ({
          venue,
          market,
          firstTradeId,
          lastTradeId,
          missing,
          cause,
        }))
        .sort(byId),
      expected.sort(byId),
    );
    assert.equal(
      gaps.reduce((sum, gap) => sum + gap.missing, 0),
      VENUE_NAMES.reduce((sum, venue) => sum + BURNS[venue].count, 0),
    );
  });

  it("serves 1-minute candles whose OHLC follow the venue's trade ids and whose volumes are its sums", async () => {
    for (const { venue, market } of MARKET_LIST) {
      const made = truth.get(key(venue, market))!;
      const from = Math.floor(made[0]!.ts / MINUTE) * MINUTE;
      const to = Math.floor(made.at(-1)!.ts / MINUTE) * MINUTE + MINUTE;
      const query = new URLSearchParams({ venue, market, interval: '1m', from: String(from), to: String(to) });
      const { candles } = await get<{ candles: TradeCandle[] }>(`/api/trade-candles?${query}`);
      const expected = expectedCandles(made);
      const what = `${venue} ${market}`;
      assert.equal(
        candles.reduce((sum, candle) => sum + candle.trades, 0),
        made.length,
        `${what}: trades in candles`,
      );
      assertClose(
        candles.reduce((sum, candle) => sum + candle.volume, 0),
        made.reduce((sum, trade) => sum + trade.qty, 0),
        `${what}: volume`,
      );
      assert.deepEqual(
        candles.map(({ time, open, high, low, close, trades }) => ({ time, open, high, low, close, trades })),
        expected.map(({ time, open, high, low, close, trades }) => ({ time, open, high, low, close, trades })),
        `${what}: OHLC by minute`,
      );
      for (const [i, candle] of candles.entries()) {
        assertClose(candle.volume, expected[i]!.volume, `${what} ${candle.time}: volume`);
        assertClose(candle.quoteVolume, expected[i]!.quoteVolume, `${what} ${candle.time}: quote volume`);
        assertClose(candle.buyVolume, expected[i]!.buyVolume, `${what} ${candle.time}: buy volume`);
      }
    }
  });

  it('lists the six markets with their trade counts, and reported every venue connected while running', async () => {
    const { markets } = await get<{ markets: TradeMarket[] }>('/api/trade-markets');
    const sorted = [...markets].sort((a, b) => (key(a.venue, a.market) < key(b.venue, b.market) ? -1 : 1));
    assert.deepEqual(
      sorted.map(({ venue, market, symbol, trades, lastTs }) => ({ venue, market, symbol, trades, lastTs })),
      MARKET_LIST.map(({ venue, market }) => {
        const made = truth.get(key(venue, market))!;
        return { venue, market, symbol: symbolOf(market), trades: made.length, lastTs: made.at(-1)!.ts };
      }).sort((a, b) => (key(a.venue, a.market) < key(b.venue, b.market) ? -1 : 1)),
    );
    for (const row of sorted) {
      assertClose(
        row.volume,
        truth.get(key(row.venue, row.market))!.reduce((sum, trade) => sum + trade.qty, 0),
        `${row.venue} ${row.market}: volume`,
      );
    }

    assert.ok(whileRunning);
    assert.equal(whileRunning.ok, true, whileRunning.detail);
    assert.equal(whileRunning.detail, '3 venues connected');
    assert.deepEqual(whileRunning.venues.map((v) => v.venue).sort(), [...VENUE_NAMES].sort());
  });
});

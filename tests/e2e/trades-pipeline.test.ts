import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../../core/adapters/memory/bus.ts';
import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { gapId, type Gap } from '../../core/records/gap.ts';
import type { StreamsStatus, VenueStreamStatus } from '../../core/records/status.ts';
import type { Trade, Venue } from '../../core/records/trade.ts';
import { tradeRecord } from '../../core/testing/trade-record.ts';
import { StatusBoard } from '../../core/status-board.ts';
import { createApp } from '../../lake-query/http/app.ts';
import { Lake } from '../../lake-query/lake.ts';
import { createLakeQueries } from '../../lake-query/queries.ts';
import { SqlSandbox } from '../../lake-query/sql-sandbox.ts';
import type { TradeCandle, TradeItem } from '../../lake-query/trade-queries.ts';
import { createProcessor } from '../../processor/processor.ts';
import { tempLake } from '../../processor/testing/lake-reader.ts';
import type { LakeLocation } from '../../core/adapters/select.ts';

const NOW = Date.parse('2026-03-02T06:00:00Z');
const MINUTE = 60_000;
const DAY = 86_400_000;

/** A BTC trade; every ninth came from REST history. */
function trade(venue: Venue, market: string, number: number, ts: number, price: number, qty: number, side: 'buy' | 'sell'): Trade {
  return tradeRecord(venue, market, number, ts, price, qty, side, { via: number % 9 === 0 ? 'rest' : 'stream', ingestDelayMs: 25 });
}

function gap(venue: Venue, market: string, first: number, last: number, fromTs: number): Gap {
  return {
    id: gapId(venue, market, first, last),
    venue,
    market,
    symbol: 'BTC',
    first_trade_id: first,
    last_trade_id: last,
    missing: last - first + 1,
    from_ts: fromTs,
    to_ts: fromTs + 2_000,
    cause: 'reconnect',
    reason: 'history does not go back that far',
    detected_at: fromTs + 9_000,
  };
}

/** What the API should answer for a set of trades: OHLC in trade-id order, summed volumes. */
function expectedCandle(time: number, trades: Trade[]): TradeCandle {
  const byId = [...trades].sort((a, b) => a.trade_id - b.trade_id);
  const sum = (pick: (t: Trade) => number) => byId.reduce((total, t) => total + pick(t), 0);
  return {
    time,
    open: byId[0]!.price,
    high: Math.max(...byId.map((t) => t.price)),
    low: Math.min(...byId.map((t) => t.price)),
    close: byId.at(-1)!.price,
    volume: sum((t) => t.qty),
    quoteVolume: sum((t) => t.price * t.qty),
    buyVolume: sum((t) => (t.side === 'buy' ? t.qty : 0)),
    trades: byId.length,
  };
}

// Binance: two minutes of 10 trades each, published in two flushes so each minute's trades are
// split over two files (and two rollup partials). The later ids come first, newest first within a
// flush, as a refill from REST history arrives after the stream moved on. Within a minute several
// trades share a millisecond, and the first id carries a later stamp than the second: only the id
// order can say which is the open. Prices and quantities are multiples of 1/4 and 1/8: every sum
// is exact.
const minuteA = NOW - 2 * MINUTE;
const minuteB = NOW - MINUTE;
const binance = Array.from({ length: 20 }, (_, i) => {
  const minute = i < 10 ? minuteA : minuteB;
  const ts = i % 10 === 0 ? minute + 1_000 : minute + 500 + Math.floor((i % 10) / 3) * 7_000;
  return trade('binance', 'BTCUSDT', 100 + i, ts, 97_000 + ((i * 13) % 17) / 4, 0.125 * (1 + (i % 5)), i % 3 === 0 ? 'sell' : 'buy');
});
const coinbase = [
  trade('coinbase', 'BTC-USD', 500, NOW - 90_000, 97_010, 0.5, 'buy'),
  trade('coinbase', 'BTC-USD', 501, NOW - 90_000, 97_011, 0.25, 'sell'),
];
const krakenOld = trade('kraken', 'BTC/USD', 42, NOW - 3 * DAY, 95_000, 1, 'buy');
const recentGap = gap('binance', 'BTCUSDT', 120, 125, NOW - 30_000);
const oldGap = gap('kraken', 'BTC/USD', 10, 41, NOW - 3 * DAY - 5_000);

const batch = (trades: Trade[]) => trades.map((t) => ({ key: `${t.venue}:${t.market}`, value: JSON.stringify(t) }));

function streamStatus(venue: string, connected: boolean): VenueStreamStatus {
  return {
    venue,
    markets: ['BTCUSDT'],
    connected,
    connections: 2,
    tradesReceived: 20,
    tickersReceived: 3,
    duplicatesDropped: 1,
    malformedFrames: 0,
    tradesMissed: 6,
    tradesRefilled: 0,
    tradesCoveredByReplicas: 0,
    gapsRecorded: 1,
    buffered: 0,
    paused: false,
    lastTradeAt: NOW - 1_000,
    lastError: connected ? null : 'socket closed (1006)',
    lastErrorAt: connected ? null : NOW - 5_000,
  };
}

describe('exchange trades through bus, processor, lake and API', () => {
  let location: LakeLocation;
  let cleanup: () => Promise<void>;
  let lake: Lake;
  let commits = 0;
  let app: ReturnType<typeof createApp>;
  const cache = new MemoryCache();
  const get = async (path: string) => {
    const response = await app.request(path);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  before(async () => {
    ({ location, cleanup } = await tempLake());
    const bus = new MemoryBus({ partitions: 3, retryDelayMs: 0 });
    const metrics = new Metrics();
    const processor = createProcessor({
      bus,
      lake: location,
      cache,
      config: {
        kafkaGroup: 'test',
        kafkaTopic: 'prices',
        deadLetterTopic: 'prices.dead-letter',
        alertsTopic: 'alerts',
        tradesTopic: 'trades',
        gapsTopic: 'gaps',
        flushIntervalMs: 60_000,
        flushMaxRecords: 10_000,
        maxBufferedBytes: 64 * 1024 * 1024,
        writerMemoryLimit: '256MB',
        writerThreads: 1,
      },
      log: silentLogger,
      metrics,
      now: () => NOW,
    });
    await processor.start();
    try {
      const laterIds = [...binance.slice(5, 10), ...binance.slice(15)].reverse();
      // A coinbase trade twice in one flush, the old kraken trade in both flushes: each is one trade.
      await bus.publish('trades', batch([...laterIds, ...coinbase, coinbase[0]!, krakenOld]));
      await bus.publish('gaps', [{ key: 'binance:BTCUSDT', value: JSON.stringify(recentGap) }]);
      await processor.drain();
      await bus.publish('trades', [
        ...batch([...[...binance.slice(0, 5), ...binance.slice(10, 15)].reverse(), krakenOld]),
        { key: 'binance:BTCUSDT', value: JSON.stringify({ ...binance[0], trade_id: 7 }) },
        { key: 'binance:BTCUSDT', value: '{"id": "binance:BTCUSDT:' },
      ]);
      // The same gap recorded again after a crash, and one from days ago.
      await bus.publish(
        'gaps',
        [recentGap, oldGap].map((g) => ({ key: `${g.venue}:${g.market}`, value: JSON.stringify(g) })),
      );
      await processor.drain();
      commits = processor.status().commits;
    } finally {
      await processor.stop();
      await bus.close();
    }
    lake = await Lake.open(location, { queryTimeoutMs: 10_000, memoryLimit: '256MB', threads: 1, connections: 2 }, silentLogger, metrics);
    app = createApp({
      queries: createLakeQueries(lake),
      lake,
      checks: {},
      statusBoard: new StatusBoard(cache),
      metrics,
      dashboardDir: location.kind === 'local' ? location.root : '',
      synthetic: false,
      log: silentLogger,
      now: () => NOW,
    });
  });

  after(async () => {
    await lake.close();
    await cleanup();
  });

  it('commits each minute of a market in more than one commit, each with its rollup partials', async () => {
    assert.ok(commits >= 2, `${commits} commits`);
    const [row] = await lake.query(
      'partials',
      `SELECT count(*)::INTEGER AS partials, count(DISTINCT (minute, venue, market))::INTEGER AS minutes FROM trade_candles_1m_partials`,
    );
    assert.ok(Number(row!.partials) > Number(row!.minutes), JSON.stringify(row));
  });

  it('serves candles whose open and close follow the trade ids and whose volumes are the sums', async () => {
    const from = NOW - 10 * MINUTE;
    const oneMinute = await get(`/api/trade-candles?venue=binance&market=BTCUSDT&interval=1m&from=${from}&to=${NOW}`);
    assert.equal(oneMinute.status, 200);
    assert.deepEqual(oneMinute.body, {
      candles: [expectedCandle(minuteA, binance.slice(0, 10)), expectedCandle(minuteB, binance.slice(10))],
    });
    const fiveMinutes = await get(`/api/trade-candles?venue=binance&market=BTCUSDT&interval=5m&from=${from}&to=${NOW}`);
    assert.deepEqual(fiveMinutes.body, { candles: [expectedCandle(NOW - 5 * MINUTE, binance)] });
    // The first trade by id is stamped after the second: ordering by time would open at the wrong price.
    assert.ok(binance[0]!.ts > binance[1]!.ts && binance[0]!.price !== binance[1]!.price);
    const other = await get(`/api/trade-candles?venue=kraken&market=${encodeURIComponent('BTC/USD')}&from=${from}&to=${NOW}`);
    assert.deepEqual(other.body, { candles: [] });
  });

  it('lists the newest trades first, once each, from the recent days unless a range is given', async () => {
    const { body } = await get('/api/trades?limit=1000');
    const trades = body.trades as TradeItem[];
    const expected = [...binance, ...coinbase].sort((a, b) => b.ts - a.ts || b.trade_id - a.trade_id || (a.id < b.id ? -1 : 1));
    assert.deepEqual(
      trades.map((t) => t.id),
      expected.map((t) => t.id),
    );
    const newest = expected[0]!;
    assert.deepEqual(trades[0], {
      id: newest.id,
      ts: newest.ts,
      symbol: 'BTC',
      venue: 'binance',
      market: 'BTCUSDT',
      price: newest.price,
      qty: newest.qty,
      side: newest.side,
      tradeId: newest.trade_id,
      via: newest.via,
    });
    const limited = await get('/api/trades?venue=binance&market=BTCUSDT&limit=3');
    assert.deepEqual(
      (limited.body.trades as TradeItem[]).map((t) => t.tradeId),
      expected
        .filter((t) => t.venue === 'binance')
        .map((t) => t.trade_id)
        .slice(0, 3),
    );
    const old = await get(`/api/trades?venue=kraken&from=${NOW - 4 * DAY}`);
    assert.deepEqual(
      (old.body.trades as TradeItem[]).map((t) => t.id),
      [krakenOld.id],
    );
    const bySymbol = await get(`/api/trades?symbol=ETH`);
    assert.deepEqual(bySymbol.body, { trades: [] });
  });

  it('lists the markets of the last 24 hours by trade count, from the rollups', async () => {
    const { body } = await get('/api/trade-markets');
    assert.deepEqual(body, {
      markets: [
        {
          venue: 'binance',
          market: 'BTCUSDT',
          symbol: 'BTC',
          trades: 20,
          volume: binance.reduce((sum, t) => sum + t.qty, 0),
          lastTs: Math.max(...binance.map((t) => t.ts)),
        },
        { venue: 'coinbase', market: 'BTC-USD', symbol: 'BTC', trades: 2, volume: 0.75, lastTs: NOW - 90_000 },
      ],
    });
  });

  it('lists gaps newest first, once each, filtered by venue and time', async () => {
    const all = await get('/api/gaps');
    assert.deepEqual(
      (all.body.gaps as { id: string }[]).map((g) => g.id),
      [recentGap.id, oldGap.id],
    );
    assert.deepEqual((all.body.gaps as unknown[])[0], {
      id: recentGap.id,
      venue: 'binance',
      market: 'BTCUSDT',
      symbol: 'BTC',
      firstTradeId: 120,
      lastTradeId: 125,
      missing: 6,
      fromTs: recentGap.from_ts,
      toTs: recentGap.to_ts,
      cause: 'reconnect',
      reason: 'history does not go back that far',
      detectedAt: recentGap.detected_at,
    });
    const kraken = await get(`/api/gaps?venue=kraken&market=${encodeURIComponent('BTC/USD')}`);
    assert.deepEqual(
      (kraken.body.gaps as { id: string }[]).map((g) => g.id),
      [oldGap.id],
    );
    const recent = await get(`/api/gaps?from=${NOW - DAY}&limit=5`);
    assert.deepEqual(
      (recent.body.gaps as { id: string }[]).map((g) => g.id),
      [recentGap.id],
    );
  });

  it('sends malformed trades to dead-letter with their reason', async () => {
    const { body } = await get('/api/dead-letters');
    const reasons = (body.reasons as { stage: string; reason: string; count: number }[]).map((r) => `${r.stage}: ${r.reason}`);
    assert.ok(reasons.includes('processor: id: does not match venue, market and trade_id'), reasons.join('; '));
    assert.ok(
      reasons.some((reason) => reason.startsWith('processor: not JSON')),
      reasons.join('; '),
    );
  });

  it('exposes trades, gaps (one row per id) and merged trade candles as views the SQL console may read', async () => {
    const sandbox = await SqlSandbox.open(location, { maxRows: 100, timeoutMs: 5_000, memoryLimit: '128MB', threads: 1 });
    try {
      const result = await sandbox.run(
        `SELECT (SELECT count(DISTINCT id) FROM trades) AS trades, (SELECT count(*) FROM gaps) AS gaps,
                (SELECT sum(trades) FROM trade_candles_1m) AS rolled,
                (SELECT count(*) FROM trade_candles_1m WHERE venue = 'binance') AS binance_minutes,
                (SELECT arg_min(open, minute) FROM trade_candles_1m WHERE venue = 'binance') AS first_open`,
      );
      // BIGINTs come back as strings. The old kraken trade was published in two flushes: the second
      // commit dropped it as a duplicate, so the candles count it once too.
      assert.deepEqual(result.rows, [['23', '2', '23', '2', binance[0]!.price]]);
    } finally {
      await sandbox.close();
    }
  });

  it('answers a bad parameter with 400 naming it', async () => {
    const cases: [string, RegExp][] = [
      ['/api/trades?limit=0', /^limit: /],
      ['/api/trades?venue=mtgox', /^venue: expected one of binance, coinbase, kraken/],
      ['/api/trades?from=yesterday', /^from: /],
      ['/api/trade-candles?market=BTCUSDT', /^venue: required/],
      ['/api/trade-candles?venue=binance', /^market: required/],
      ['/api/trade-candles?venue=binance&market=BTCUSDT&interval=2m', /^interval: /],
      ['/api/trade-candles?venue=binance&market=BTCUSDT&from=2020-01-01', /^from: the range holds \d+ 1m candles/],
      [`/api/trade-candles?venue=binance&market=BTCUSDT&from=${NOW}&to=${NOW - 1}`, /^from: must be before to/],
      ['/api/gaps?limit=1001', /^limit: /],
    ];
    for (const [path, error] of cases) {
      const { status, body } = await get(path);
      assert.equal(status, 400, path);
      assert.match(String(body.error), error, path);
    }
  });

  it('reports the streams from the status board: silent, one venue down, all connected, and the duplicates the lake dropped', async () => {
    const board = new StatusBoard(cache);
    const silent = (await get('/api/streams')).body;
    assert.deepEqual(
      [silent.ok, silent.detail, silent.venues, silent.replicas],
      [false, 'the stream reader is not reporting (no status in the shared cache)', [], []],
    );
    // A coinbase trade twice in one flush and the old kraken trade in both flushes; the gap recorded again.
    assert.deepEqual(silent.lake, { processors: 1, duplicatesDropped: { trades: 2, gaps: 1 } });
    const status: StreamsStatus = {
      part: 'streams',
      instance: 'a',
      updatedAt: NOW,
      venues: [streamStatus('binance', true), streamStatus('kraken', false)],
    };
    await board.publish('streams', status);
    const down = await get('/api/streams');
    assert.equal(down.body.ok, false);
    assert.equal(down.body.detail, '1 of 2 venues disconnected: kraken (socket closed (1006))');
    assert.deepEqual(down.body.venues, status.venues);
    assert.deepEqual(down.body.replicas, [{ instance: 'a', updatedAt: NOW, reporting: true, venues: status.venues }]);
    await board.publish('streams', { ...status, venues: [streamStatus('binance', true)] });
    const up = (await get('/api/streams')).body;
    assert.deepEqual([up.ok, up.detail, up.venues], [true, '1 venue connected', [streamStatus('binance', true)]]);
  });
});

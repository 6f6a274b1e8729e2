import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LocalObjectStore } from '../core/adapters/local-fs/object-store.ts';
import { liveParquetSql } from '../core/lake-layout.ts';
import { silentLogger } from '../core/log.ts';
import { MERGE_TRADE_CANDLE_PARTIALS_SQL, TRADE_CANDLE_GROUP_BY } from '../core/records/trade-candle.ts';
import type { Trade, Venue } from '../core/records/trade.ts';
import { tradeRecord } from '../core/testing/trade-record.ts';
import type { Batch } from './batcher.ts';
import { Compactor } from './compactor.ts';
import { tradesDataset } from './datasets.ts';
import { FlushJournal } from './flush-journal.ts';
import { LakeWriter } from './lake-writer.ts';
import { ParquetEncoder } from './parquet.ts';
import { tradeCandlePartials } from './rollups.ts';
import { openLakeReader, tempLake } from './testing/lake-reader.ts';

const at = (iso: string) => Date.parse(iso);

describe('trade candle partials', () => {
  it('open and close follow the trade ids, not the timestamps, which trades share', () => {
    const t = at('2026-03-02T00:00:10Z');
    const partials = tradeCandlePartials([
      // The file's order is the venue's sort order of nothing in particular; ids 11-13 share one millisecond.
      tradeRecord('binance', 'BTCUSDT', 12, t, 101, 0.5, 'buy'),
      tradeRecord('binance', 'BTCUSDT', 11, t, 100, 0.25, 'sell'),
      tradeRecord('binance', 'BTCUSDT', 13, t, 99, 1, 'buy'),
      tradeRecord('binance', 'BTCUSDT', 10, t - 5, 103, 2, 'sell'),
    ]);
    assert.deepEqual(partials, [
      {
        minute: at('2026-03-02T00:00:00Z'),
        venue: 'binance',
        market: 'BTCUSDT',
        symbol: 'BTC',
        open: 103,
        open_trade_id: 10,
        high: 103,
        low: 99,
        close: 99,
        close_trade_id: 13,
        volume: 3.75,
        quote_volume: 101 * 0.5 + 100 * 0.25 + 99 + 103 * 2,
        buy_volume: 1.5,
        trades: 4,
        raw_rows: 4,
        last_ts: t,
      },
    ]);
  });

  it('keeps one partial per venue, market and minute, and counts a repeated id once', () => {
    const t = at('2026-03-02T00:00:59.999Z');
    const repeated = tradeRecord('kraken', 'BTC/USD', 7, t, 100, 1, 'buy');
    const partials = tradeCandlePartials([
      repeated,
      repeated,
      tradeRecord('kraken', 'BTC/USD', 8, t + 1, 102, 1, 'sell'),
      tradeRecord('coinbase', 'BTC-USD', 7, t, 100, 1, 'buy'),
    ]);
    assert.deepEqual(
      partials.map((p) => [p.venue, p.minute, p.open, p.close, p.volume, p.buy_volume, p.trades, p.raw_rows]),
      [
        ['kraken', at('2026-03-02T00:00:00Z'), 100, 100, 1, 1, 1, 2],
        ['kraken', at('2026-03-02T00:01:00Z'), 102, 102, 1, 0, 1, 1],
        ['coinbase', at('2026-03-02T00:00:00Z'), 100, 100, 1, 1, 1, 1],
      ],
    );
  });
});

describe('the trade_candles_1m rollup written beside the trades files', () => {
  let lakeDir: { root: string; cleanup(): Promise<void> };
  let store: LocalObjectStore;
  let encoder: ParquetEncoder;
  let offset = 0;

  async function flush(trades: Trade[]): Promise<void> {
    const dataset = tradesDataset('trades');
    const batch: Batch = {
      topic: 'trades',
      partition: 0,
      firstOffset: offset,
      lastOffset: offset + trades.length - 1,
      items: trades.map((row) => ({ dataset, row, eventTimeMs: row.ts })),
      bytes: 0,
      openedAt: 0,
    };
    offset += trades.length;
    await new LakeWriter(store, encoder, new FlushJournal(store, 'test'), silentLogger).write(batch);
  }

  /** Per (venue, market, minute): the rollup files merged, and the same computed by DuckDB from the raw trades. */
  async function rollupsAndRaw(): Promise<{ rollups: unknown[]; raw: unknown[] }> {
    const reader = await openLakeReader(lakeDir.root);
    try {
      const order = 'ORDER BY venue, market, minute';
      const rollups = await reader.rows(
        `SELECT ${MERGE_TRADE_CANDLE_PARTIALS_SQL} FROM ${liveParquetSql(lakeDir.root, 'trade_candles_1m')} GROUP BY ${TRADE_CANDLE_GROUP_BY} ${order}`,
      );
      const raw = await reader.rows(
        `WITH t AS (SELECT id, any_value(ts) AS ts, any_value(venue) AS venue, any_value(market) AS market, any_value(symbol) AS symbol,
                           any_value(price) AS price, any_value(qty) AS qty, any_value(side) AS side, any_value(trade_id) AS trade_id,
                           count(*) AS copies
                      FROM ${liveParquetSql(lakeDir.root, 'trades')} GROUP BY id)
         SELECT time_bucket(INTERVAL 1 minute, ts) AS minute, venue, market, symbol,
                arg_min(price, trade_id) AS open, min(trade_id) AS open_trade_id, max(price) AS high, min(price) AS low,
                arg_max(price, trade_id) AS close, max(trade_id) AS close_trade_id, sum(qty) AS volume,
                sum(price * qty) AS quote_volume, coalesce(sum(qty) FILTER (WHERE side = 'buy'), 0) AS buy_volume,
                count(*)::BIGINT AS trades, sum(copies)::BIGINT AS raw_rows, max(ts) AS last_ts
           FROM t GROUP BY ALL ${order}`,
      );
      return { rollups, raw };
    } finally {
      reader.close();
    }
  }

  before(async () => {
    lakeDir = await tempLake();
    store = new LocalObjectStore(lakeDir.root);
    encoder = await ParquetEncoder.open();
    // Three markets across a day boundary, many trades per millisecond, ids not in time order within
    // a file, minutes split across files, and a trade delivered twice in one flush. Prices and
    // quantities are multiples of 1/4 and 1/8, so every sum is exact and the comparison can be too.
    const trades: Trade[] = [];
    const start = at('2026-03-01T23:50:00Z');
    const markets: [Venue, string][] = [
      ['binance', 'BTCUSDT'],
      ['coinbase', 'BTC-USD'],
      ['kraken', 'BTC/USD'],
    ];
    for (let i = 0; i < 900; i++) {
      const [venue, market] = markets[i % 3]!;
      const ts = start + Math.floor(i / 7) * 9_000;
      const price = 90_000 + ((i * 37) % 101) / 4;
      trades.push(tradeRecord(venue, market, 5_000 + i, ts, price, 1 + ((i * 5) % 16) / 8, i % 4 === 0 ? 'sell' : 'buy'));
    }
    for (let i = 0; i < trades.length - 1; i += 5) [trades[i], trades[i + 1]] = [trades[i + 1]!, trades[i]!];
    trades.splice(40, 0, trades[39]!);
    for (let first = 0; first < trades.length; first += 83) await flush(trades.slice(first, first + 83));
  });

  after(async () => {
    await encoder.close();
    await lakeDir.cleanup();
  });

  it('merged over files, gives exactly the candles of the raw trades', async () => {
    const { rollups, raw } = await rollupsAndRaw();
    assert.ok(raw.length > 50, `${raw.length} minutes`);
    assert.deepEqual(rollups, raw);
    assert.ok((await store.list('trade_candles_1m/year=2026/month=03/day=02/')).length > 1);
  });

  it('is compacted with its trades day, merging the partials, and still gives the raw candles', async () => {
    let now = Date.now();
    const compactor = await Compactor.open({ store, log: silentLogger, graceMs: 1_000, now: () => now });
    try {
      for (const day of await compactor.dayFolders('trades')) await compactor.compactDay(day);
      const files = (await store.list('trade_candles_1m/')).map((file) => file.key);
      assert.ok(
        files.some((key) => key.includes('/compacted-')),
        'the rollup folders were compacted too',
      );
      const { rollups, raw } = await rollupsAndRaw();
      assert.deepEqual(rollups, raw);
      now += 2_000;
      for (const day of await compactor.dayFolders('trades')) await compactor.compactDay(day);
      assert.deepEqual((await rollupsAndRaw()).rollups, raw);
      // A compacted rollup file holds one row per (venue, market, minute): the partials were merged, not copied.
      const reader = await openLakeReader(lakeDir.root);
      try {
        const [row] = await reader.rows(
          `SELECT count(*)::INTEGER AS n, count(DISTINCT (venue, market, minute))::INTEGER AS groups
             FROM ${liveParquetSql(lakeDir.root, 'trade_candles_1m')}`,
        );
        assert.equal(row!.n, row!.groups);
      } finally {
        reader.close();
      }
    } finally {
      await compactor.close();
    }
  });
});

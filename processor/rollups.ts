import { CANDLE_PARTIAL_COLUMNS, MERGE_CANDLE_PARTIALS_SQL, type CandlePartial } from '../core/records/candle.ts';
import type { PriceRecord } from '../core/records/price.ts';
import { DATASETS } from '../core/records/topics.ts';
import {
  MERGE_TRADE_CANDLE_PARTIALS_SQL,
  TRADE_CANDLE_GROUP_BY,
  TRADE_CANDLE_PARTIAL_COLUMNS,
  type TradeCandlePartial,
} from '../core/records/trade-candle.ts';
import type { Trade } from '../core/records/trade.ts';
import type { Column, ColumnType, TableSpec } from './parquet.ts';

/**
 * A dataset the lake writer derives from another one's files: for every file of `from` it stores,
 * it stores `derive(rows)` under the same name in `folder`, in the same flush and before the
 * commit, so the derived files inherit the raw files' exactly-once guarantee (a replay rewrites
 * both keys).
 */
export interface DerivedDataset<Raw, Derived> {
  /** The lake folder of the raw files it is derived from, e.g. `prices`. */
  from: string;
  /** Its own lake folder, e.g. `candles_1m`. */
  folder: string;
  derive(rows: readonly Raw[]): Derived[];
  table: TableSpec<Derived>;
  /**
   * How compaction merges the partials of several files: the select list grouped by `groupBy`
   * (one row per group), and the count columns whose sums must be the same before and after.
   */
  merge: { select: string; groupBy: string; conserved: readonly string[] };
}

/** Any derived dataset, for the writer's list. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDerivedDataset = DerivedDataset<any, any>;

const MINUTE_MS = 60_000;

/**
 * The 1-minute candle partials of one file's price records: one per (symbol, source, minute).
 * A repeated id counts once (its first row is kept), as the raw candle query counts distinct ids.
 */
export function candlePartials(rows: readonly PriceRecord[]): CandlePartial[] {
  const partials = new Map<string, CandlePartial>();
  const seen = new Set<string>();
  for (const row of rows) {
    const minute = Math.floor(row.ts / MINUTE_MS) * MINUTE_MS;
    const key = `${row.symbol}\u0000${row.source}\u0000${minute}`;
    let partial = partials.get(key);
    if (!partial) {
      partial = {
        minute,
        symbol: row.symbol,
        source: row.source,
        open: row.price_usd,
        open_ts: row.ts,
        high: row.price_usd,
        low: row.price_usd,
        close: row.price_usd,
        close_ts: row.ts,
        ticks: 0,
        raw_rows: 0,
        volume_24h_usd: null,
        volume_ts: null,
      };
      partials.set(key, partial);
    }
    partial.raw_rows += 1;
    if (seen.has(row.id)) continue;
    seen.add(row.id);
    partial.ticks += 1;
    // Within one (symbol, source) the id is fixed by ts, so times never tie here.
    if (row.ts < partial.open_ts) [partial.open, partial.open_ts] = [row.price_usd, row.ts];
    if (row.ts > partial.close_ts) [partial.close, partial.close_ts] = [row.price_usd, row.ts];
    partial.high = Math.max(partial.high, row.price_usd);
    partial.low = Math.min(partial.low, row.price_usd);
    if (row.volume_24h_usd !== null && (partial.volume_ts === null || row.ts > partial.volume_ts))
      [partial.volume_24h_usd, partial.volume_ts] = [row.volume_24h_usd, row.ts];
  }
  return [...partials.values()];
}

const candleColumns: Column<CandlePartial>[] = CANDLE_PARTIAL_COLUMNS.map(([name, type]) => ({
  name,
  type: type as ColumnType,
  value: (row: CandlePartial) => row[name],
}));

/** The `candles_1m` rollup of the prices dataset. */
export const candles1mRollup: DerivedDataset<PriceRecord, CandlePartial> = {
  from: DATASETS.prices,
  folder: DATASETS.candles1m,
  derive: candlePartials,
  table: { columns: candleColumns, sortBy: ['symbol', 'source', 'minute'] },
  merge: { select: MERGE_CANDLE_PARTIALS_SQL, groupBy: 'minute, symbol, source', conserved: ['ticks', 'raw_rows'] },
};

/**
 * The 1-minute candle partials of one file's trades: one per (venue, market, minute). Open and
 * close follow the trade ids (the venue's order), not the timestamps, which trades often share.
 * A repeated id counts once (its first row is kept), so a duplicate adds no volume.
 */
export function tradeCandlePartials(rows: readonly Trade[]): TradeCandlePartial[] {
  const partials = new Map<string, TradeCandlePartial>();
  const seen = new Set<string>();
  for (const row of rows) {
    const minute = Math.floor(row.ts / MINUTE_MS) * MINUTE_MS;
    const key = `${row.venue}\u0000${row.market}\u0000${minute}`;
    let partial = partials.get(key);
    if (!partial) {
      partial = {
        minute,
        venue: row.venue,
        market: row.market,
        symbol: row.symbol,
        open: row.price,
        open_trade_id: row.trade_id,
        high: row.price,
        low: row.price,
        close: row.price,
        close_trade_id: row.trade_id,
        volume: 0,
        quote_volume: 0,
        buy_volume: 0,
        trades: 0,
        raw_rows: 0,
        last_ts: row.ts,
      };
      partials.set(key, partial);
    }
    partial.raw_rows += 1;
    if (seen.has(row.id)) continue;
    seen.add(row.id);
    partial.trades += 1;
    partial.volume += row.qty;
    partial.quote_volume += row.price * row.qty;
    if (row.side === 'buy') partial.buy_volume += row.qty;
    if (row.trade_id < partial.open_trade_id) [partial.open, partial.open_trade_id] = [row.price, row.trade_id];
    if (row.trade_id > partial.close_trade_id) [partial.close, partial.close_trade_id] = [row.price, row.trade_id];
    partial.high = Math.max(partial.high, row.price);
    partial.low = Math.min(partial.low, row.price);
    partial.last_ts = Math.max(partial.last_ts, row.ts);
  }
  return [...partials.values()];
}

/** The `trade_candles_1m` rollup of the trades dataset. */
export const tradeCandles1mRollup: DerivedDataset<Trade, TradeCandlePartial> = {
  from: DATASETS.trades,
  folder: DATASETS.tradeCandles1m,
  derive: tradeCandlePartials,
  table: {
    columns: TRADE_CANDLE_PARTIAL_COLUMNS.map(([name, type]) => ({ name, type, value: (row: TradeCandlePartial) => row[name] })),
    sortBy: ['venue', 'market', 'minute'],
  },
  merge: { select: MERGE_TRADE_CANDLE_PARTIALS_SQL, groupBy: TRADE_CANDLE_GROUP_BY, conserved: ['trades', 'raw_rows'] },
};

/** The rollups the lake writer keeps, and compaction merges, by default. */
export const DEFAULT_ROLLUPS: readonly AnyDerivedDataset[] = [candles1mRollup, tradeCandles1mRollup];

/** `candles_1m/year=…/<name>` for `prices/year=…/<name>`: the derived file's key. */
export function derivedKey(rawKey: string, derived: AnyDerivedDataset): string {
  return `${derived.folder}${rawKey.slice(derived.from.length)}`;
}

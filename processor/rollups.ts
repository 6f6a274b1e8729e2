import { CANDLE_PARTIAL_COLUMNS, type CandlePartial } from '../core/records/candle.ts';
import type { PriceRecord } from '../core/records/price.ts';
import { DATASETS } from '../core/records/topics.ts';
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
};

/** The rollups the lake writer keeps by default. */
export const DEFAULT_ROLLUPS: readonly AnyDerivedDataset[] = [candles1mRollup];

/** `candles_1m/year=…/<name>` for `prices/year=…/<name>`: the derived file's key. */
export function derivedKey(rawKey: string, derived: AnyDerivedDataset): string {
  return `${derived.folder}${rawKey.slice(derived.from.length)}`;
}

import { z } from 'zod';

/**
 * One partial 1-minute candle: the aggregate of the price records of ONE raw lake file for one
 * (symbol, source, minute). Partials of the same minute, from other files or other sources, merge
 * exactly (`mergeCandlePartialsSql`), so the rollup dataset `candles_1m` can be written file by
 * file beside the raw files and compacted like them. Times are epoch ms UTC (TIMESTAMP in the lake).
 *
 * Ties in time are broken by `source`, so open and close are deterministic when two sources
 * stamp the same instant (the raw candle query breaks them the same way).
 */
export const CandlePartial = z.object({
  /** The minute's start. */
  minute: z.number().int(),
  symbol: z.string().min(1),
  source: z.string().min(1),
  /** The price of the earliest record, and that record's `ts`. */
  open: z.number(),
  open_ts: z.number().int(),
  high: z.number(),
  low: z.number(),
  /** The price of the latest record, and that record's `ts`. */
  close: z.number(),
  close_ts: z.number().int(),
  /** Distinct record ids in the file: the candle's observation count. */
  ticks: z.number().int().nonnegative(),
  /** Rows of the raw file aggregated (ids repeated included): lets readers check a day is fully rolled up. */
  raw_rows: z.number().int().nonnegative(),
  /** The provider's rolling 24h volume of the latest record that has one, and that record's `ts`. */
  volume_24h_usd: z.number().nullable(),
  volume_ts: z.number().int().nullable(),
});
export type CandlePartial = z.infer<typeof CandlePartial>;

/** The Parquet/DuckDB columns of the `candles_1m` dataset, in file order, with their types. */
export const CANDLE_PARTIAL_COLUMNS = [
  ['minute', 'TIMESTAMP'],
  ['symbol', 'VARCHAR'],
  ['source', 'VARCHAR'],
  ['open', 'DOUBLE'],
  ['open_ts', 'TIMESTAMP'],
  ['high', 'DOUBLE'],
  ['low', 'DOUBLE'],
  ['close', 'DOUBLE'],
  ['close_ts', 'TIMESTAMP'],
  ['ticks', 'DOUBLE'],
  ['raw_rows', 'DOUBLE'],
  ['volume_24h_usd', 'DOUBLE'],
  ['volume_ts', 'TIMESTAMP'],
] as const satisfies readonly (readonly [keyof CandlePartial, string])[];

/**
 * The DuckDB select list that merges partials of one (symbol, source, minute) into one partial,
 * with the columns and types of `CANDLE_PARTIAL_COLUMNS` (counts stay DOUBLE, as in the files). Used by compaction and by the
 * `candles_1m` view; `GROUP BY minute, symbol, source` is the caller's. `arg_max` skips NULL
 * volumes, as the raw candle query does.
 */
export const MERGE_CANDLE_PARTIALS_SQL = [
  'minute',
  'symbol',
  'source',
  'arg_min(open, open_ts) AS open',
  'min(open_ts) AS open_ts',
  'max(high) AS high',
  'min(low) AS low',
  'arg_max(close, close_ts) AS close',
  'max(close_ts) AS close_ts',
  'sum(ticks) AS ticks',
  'sum(raw_rows) AS raw_rows',
  'arg_max(volume_24h_usd, volume_ts) AS volume_24h_usd',
  'max(volume_ts) FILTER (WHERE volume_24h_usd IS NOT NULL) AS volume_ts',
].join(', ');

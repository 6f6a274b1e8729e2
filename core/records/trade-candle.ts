import { z } from 'zod';
import { VENUES } from './trade.ts';

/**
 * One partial 1-minute trade candle: the aggregate of the trades of ONE raw lake file for one
 * (venue, market, minute). Partials of the same minute from other files merge exactly
 * (`MERGE_TRADE_CANDLE_PARTIALS_SQL`), so the rollup dataset `trade_candles_1m` is written file by
 * file beside the raw `trades` files and compacted like them. Times are epoch ms UTC (TIMESTAMP in
 * the lake).
 *
 * Open and close follow the venue's trade ids, not the timestamps: trades of one market often
 * share a millisecond, and the ids are the venue's own order of execution.
 */
export const TradeCandlePartial = z.object({
  /** The minute's start. */
  minute: z.number().int(),
  venue: z.enum(VENUES),
  market: z.string().min(1),
  symbol: z.string().min(1),
  /** The price of the trade with the lowest id, and that id. */
  open: z.number(),
  open_trade_id: z.number().int().nonnegative(),
  high: z.number(),
  low: z.number(),
  /** The price of the trade with the highest id, and that id. */
  close: z.number(),
  close_trade_id: z.number().int().nonnegative(),
  /** Sum of the quantities, in the base currency. */
  volume: z.number().nonnegative(),
  /** Sum of price × quantity, in the quote currency. */
  quote_volume: z.number().nonnegative(),
  /** Sum of the quantities the takers bought (`side = buy`). */
  buy_volume: z.number().nonnegative(),
  /** Distinct trade ids in the file. */
  trades: z.number().int().nonnegative(),
  /** Rows of the raw file aggregated (ids repeated included): lets readers check a day is fully rolled up. */
  raw_rows: z.number().int().nonnegative(),
  /** The latest trade time in the partial. */
  last_ts: z.number().int(),
});
export type TradeCandlePartial = z.infer<typeof TradeCandlePartial>;

/** The Parquet/DuckDB columns of the `trade_candles_1m` dataset, in file order, with their types. */
export const TRADE_CANDLE_PARTIAL_COLUMNS = [
  ['minute', 'TIMESTAMP'],
  ['venue', 'VARCHAR'],
  ['market', 'VARCHAR'],
  ['symbol', 'VARCHAR'],
  ['open', 'DOUBLE'],
  ['open_trade_id', 'BIGINT'],
  ['high', 'DOUBLE'],
  ['low', 'DOUBLE'],
  ['close', 'DOUBLE'],
  ['close_trade_id', 'BIGINT'],
  ['volume', 'DOUBLE'],
  ['quote_volume', 'DOUBLE'],
  ['buy_volume', 'DOUBLE'],
  ['trades', 'BIGINT'],
  ['raw_rows', 'BIGINT'],
  ['last_ts', 'TIMESTAMP'],
] as const satisfies readonly (readonly [keyof TradeCandlePartial, 'VARCHAR' | 'TIMESTAMP' | 'DOUBLE' | 'BIGINT'])[];

/** The columns one merged group is keyed by (`GROUP BY` of `MERGE_TRADE_CANDLE_PARTIALS_SQL`). */
export const TRADE_CANDLE_GROUP_BY = 'minute, venue, market, symbol';

/**
 * The DuckDB select list that merges partials of one (venue, market, minute) into one partial,
 * with the columns and types of `TRADE_CANDLE_PARTIAL_COLUMNS` (sums of BIGINT are cast back from
 * HUGEINT). Used by compaction and by the `trade_candles_1m` view; `GROUP BY
 * ${TRADE_CANDLE_GROUP_BY}` is the caller's.
 */
export const MERGE_TRADE_CANDLE_PARTIALS_SQL = [
  'minute',
  'venue',
  'market',
  'symbol',
  'arg_min(open, open_trade_id) AS open',
  'min(open_trade_id) AS open_trade_id',
  'max(high) AS high',
  'min(low) AS low',
  'arg_max(close, close_trade_id) AS close',
  'max(close_trade_id) AS close_trade_id',
  'sum(volume) AS volume',
  'sum(quote_volume) AS quote_volume',
  'sum(buy_volume) AS buy_volume',
  'sum(trades)::BIGINT AS trades',
  'sum(raw_rows)::BIGINT AS raw_rows',
  'max(last_ts) AS last_ts',
].join(', ');

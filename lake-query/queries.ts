import type { JS } from '@duckdb/node-api';
import { LakeError } from '../core/errors.ts';
import { partitionStats } from './catalog-stats.ts';
import type { Lake, Row } from './lake.ts';
import { priceCandlesSql, sourcesOf, type CandlesFrom } from './price-candles.ts';

export type { CandlesFrom } from './price-candles.ts';

/** What the queries need of a `Lake`; tests wrap it, e.g. to EXPLAIN ANALYZE every statement. */
export type LakeReader = Pick<Lake, 'query' | 'catalog'>;

/** Candle widths, in ms; the HTTP API accepts exactly these names. */
export const CANDLE_INTERVALS = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '4h': 14_400_000,
  '1d': 86_400_000,
} as const;
export type CandleInterval = keyof typeof CANDLE_INTERVALS;

/** The newest observation of one symbol. Times are epoch ms UTC. */
export interface LatestPrice {
  symbol: string;
  source: string;
  priceUsd: number;
  change24hPct: number | null;
  volume24hUsd: number | null;
  marketCapUsd: number | null;
  ts: number;
  ingestedAt: number;
}

/**
 * One OHLC bucket: `time` is the bucket start (epoch ms UTC), `count` the observations in it (of
 * every source it is made of). By default the prices are the composite: the median across sources
 * of each source's own open, high, low and close in the bucket. Volume is the providers' rolling
 * 24h figure at the close (the median of the sources'), not a per-bucket sum (summing it is meaningless).
 */
export interface Candle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  count: number;
  volume24hUsd: number | null;
  /** How many sources the bucket's prices are the median of (1 for one source). */
  sources: number;
}

export interface CandleQuery {
  symbol: string;
  interval: CandleInterval;
  /** epoch ms, inclusive */
  from: number;
  /** epoch ms, exclusive */
  to: number;
  /** One source's own candles; unset: the composite of every source. */
  source?: string | undefined;
}

/** Candles and what they show: the composite of `sources`, or the one `source` asked for. */
export interface CandleSeries {
  /** `composite`: the median across sources per bucket; `source`: one source alone. */
  basis: 'composite' | 'source';
  /** The sources the candles are made of, sorted (for `source`, that one when it has prices in the range). */
  sources: string[];
  candles: Candle[];
}

/** One day partition of the prices table, from the catalog (no data is read). */
export interface PartitionInfo {
  date: string;
  year: number;
  month: number;
  day: number;
  files: number;
  rows: number;
  bytes: number;
}

export interface DeadLetterCount {
  stage: string;
  reason: string;
  count: number;
  lastAt: number;
}

export interface LakeStats {
  rows: number;
  files: number;
  bytes: number;
  days: number;
}

/** The questions lake-query answers. Every one returns empty results, not errors, on an empty lake. */
export interface LakeQueries {
  latest(): Promise<LatestPrice[]>;
  candles(query: CandleQuery): Promise<CandleSeries>;
  partitions(): Promise<PartitionInfo[]>;
  deadLetterSummary(): Promise<DeadLetterCount[]>;
  stats(): Promise<LakeStats>;
}

/**
 * The queries over a `Lake`. User input only ever reaches DuckDB as bound parameters. Time ranges
 * become conditions on the event time (or a rollup's period), which DuckLake matches against each
 * file's partition and statistics, so only the files of the range are opened.
 * - `latest` reads the daily rollup of the `latestLookbackDays` (default 7) before its newest day:
 *   one row per symbol, source and day, never the raw prices; a symbol silent for longer is not "latest".
 * - `candles` reads the rollups (committed with the rows they summarise, so they are exact and
 *   trusted as they are) at the coarsest grain that fits the interval, finer grains and the raw
 *   prices only at the range's ends (`candle-plan.ts`).
 */
export function createLakeQueries(lake: LakeReader, options: { latestLookbackDays?: number; candlesFrom?: CandlesFrom } = {}): LakeQueries {
  const lookbackDays = options.latestLookbackDays ?? 7;
  const candlesFrom = options.candlesFrom ?? 'rollups';

  async function partitions(): Promise<PartitionInfo[]> {
    const rows = await partitionStats(lake, 'prices', 'ts');
    return rows.map((row) => {
      const [year, month, day] = [num(row.year), num(row.month), num(row.day)];
      return { date: isoDay(year, month, day), year, month, day, files: num(row.files), rows: num(row.rows), bytes: num(row.bytes) };
    });
  }

  return {
    partitions,

    async latest() {
      const rows = await lake.query(
        'the latest prices',
        // Each source's day merged first (its newest close, its newest volume), then the newest source per symbol.
        `WITH recent AS (
           SELECT symbol, source, arg_max(close, close_ts) AS close, max(close_ts) AS close_ts,
                  arg_max(volume_24h_usd, volume_ts) AS volume_24h_usd,
                  arg_max_null(close_change_24h_pct, close_ts) AS change_24h_pct,
                  arg_max_null(close_market_cap_usd, close_ts) AS market_cap_usd,
                  -- Partials written before the column existed have none: their close time stands in.
                  arg_max(coalesce(close_ingested_at, close_ts), close_ts) AS ingested_at
             FROM candles_1d_partials
            WHERE day >= (SELECT max(day) FROM candles_1d_partials) - to_days($lookbackDays::INTEGER)
            GROUP BY symbol, source
         )
         SELECT symbol, unnest(arg_max({
                  'source': source, 'price_usd': close, 'change_24h_pct': change_24h_pct,
                  'volume_24h_usd': volume_24h_usd, 'market_cap_usd': market_cap_usd,
                  'ts': epoch_ms(close_ts)::DOUBLE, 'ingested_at': epoch_ms(ingested_at)::DOUBLE
                }, (close_ts, ingested_at, source)))
           FROM recent
          GROUP BY symbol
          ORDER BY symbol`,
        { lookbackDays },
      );
      return rows.map((row) => ({
        symbol: String(row.symbol),
        source: String(row.source),
        priceUsd: num(row.price_usd),
        change24hPct: numOrNull(row.change_24h_pct),
        volume24hUsd: numOrNull(row.volume_24h_usd),
        marketCapUsd: numOrNull(row.market_cap_usd),
        ts: num(row.ts),
        ingestedAt: num(row.ingested_at),
      }));
    },

    async candles({ symbol, interval, from, to, source }) {
      if (!(interval in CANDLE_INTERVALS))
        throw new LakeError('QUERY_INVALID', `interval: expected one of ${Object.keys(CANDLE_INTERVALS).join(', ')}`);
      if (!(from < to)) throw new LakeError('QUERY_INVALID', 'from: must be before to');
      const { sql, params } = priceCandlesSql({ symbol, source, from, to, widthMs: CANDLE_INTERVALS[interval] }, candlesFrom);
      const rows = await lake.query(`candles for ${symbol}${source ? ` from ${source}` : ''} (${interval})`, sql, params);
      return {
        basis: source === undefined ? 'composite' : 'source',
        sources: sourcesOf(rows),
        candles: rows.map((row) => ({
          ...candlePrices(row),
          count: num(row.count),
          volume24hUsd: numOrNull(row.volume_24h_usd),
          sources: String(row.sources).split(',').length,
        })),
      };
    },

    async deadLetterSummary() {
      const rows = await lake.query(
        'the dead-letter summary',
        `SELECT stage, reason, count(*)::INTEGER AS count, epoch_ms(max("at"))::DOUBLE AS last_at
           FROM dead_letters GROUP BY stage, reason ORDER BY count DESC, last_at DESC LIMIT 100`,
      );
      return rows.map((row) => ({ stage: String(row.stage), reason: String(row.reason), count: num(row.count), lastAt: num(row.last_at) }));
    },

    async stats() {
      const days = await partitions();
      const sum = (pick: (p: PartitionInfo) => number) => days.reduce((total, p) => total + pick(p), 0);
      return { rows: sum((p) => p.rows), files: sum((p) => p.files), bytes: sum((p) => p.bytes), days: days.length };
    },
  };
}

/** The bucket start (epoch ms) and the prices of a candle row, which every candle query selects as time, open, high, low, close. */
export function candlePrices(row: Row): Pick<Candle, 'time' | 'open' | 'high' | 'low' | 'close'> {
  return { time: num(row.time), open: num(row.open), high: num(row.high), low: num(row.low), close: num(row.close) };
}

function isoDay(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function num(value: JS | undefined): number {
  return Number(value);
}

function numOrNull(value: JS | undefined): number | null {
  return value === null || value === undefined ? null : num(value);
}

import type { JS } from '@duckdb/node-api';
import { LakeError } from '../core/errors.ts';
import { partitionStats } from './catalog-stats.ts';
import type { Lake, Row } from './lake.ts';

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
const BUCKET: Record<CandleInterval, string> = {
  '1m': '1 minute',
  '5m': '5 minutes',
  '15m': '15 minutes',
  '1h': '1 hour',
  '4h': '4 hours',
  '1d': '1 day',
};
const MINUTE_MS = 60_000;

/** Where candles come from: `auto` uses the rollups when the range is on whole minutes, else the raw prices. */
export type CandleSource = 'auto' | 'raw' | 'rollups';

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
 * One OHLC bucket: `time` is the bucket start (epoch ms UTC), `count` the observations in it.
 * Volume is the provider's rolling 24h figure at the close, not a per-bucket sum (summing it is meaningless).
 */
export interface Candle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  count: number;
  volume24hUsd: number | null;
}

export interface CandleQuery {
  symbol: string;
  interval: CandleInterval;
  /** epoch ms, inclusive */
  from: number;
  /** epoch ms, exclusive */
  to: number;
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
  candles(query: CandleQuery): Promise<Candle[]>;
  partitions(): Promise<PartitionInfo[]>;
  deadLetterSummary(): Promise<DeadLetterCount[]>;
  stats(): Promise<LakeStats>;
}

/**
 * The queries over a `Lake`. User input only ever reaches DuckDB as bound parameters. Time ranges
 * become conditions on the event time, which DuckLake matches against each file's partition and
 * statistics, so only the files of the range are opened. `latest` looks at the `latestLookbackDays`
 * (default 7) before the newest minute of the rollups: a symbol silent for longer is not "latest".
 * Candles come from the `candles_1m` rollup (committed with the rows it summarises, so it is
 * exact) when the range starts and ends on whole minutes, else from the raw prices.
 */
export function createLakeQueries(
  lake: LakeReader,
  options: { latestLookbackDays?: number; candleSource?: CandleSource } = {},
): LakeQueries {
  const lookbackDays = options.latestLookbackDays ?? 7;
  const candleSource = options.candleSource ?? 'auto';

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
        // arg_max over (ts, ingested_at) takes the newest row per symbol in one pass: 1.7x faster
        // than a row_number() window over the same rows (8 M rows: 390 ms against 670 ms).
        `SELECT symbol, unnest(arg_max({
                  'source': source, 'price_usd': price_usd, 'change_24h_pct': change_24h_pct,
                  'volume_24h_usd': volume_24h_usd, 'market_cap_usd': market_cap_usd,
                  'ts': epoch_ms(ts)::DOUBLE, 'ingested_at': epoch_ms(ingested_at)::DOUBLE
                }, (ts, ingested_at)))
           FROM prices
          WHERE ts >= (SELECT max(minute) FROM candles_1m_partials) - to_days($lookbackDays::INTEGER)
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

    async candles({ symbol, interval, from, to }) {
      if (!(interval in CANDLE_INTERVALS))
        throw new LakeError('QUERY_INVALID', `interval: expected one of ${Object.keys(CANDLE_INTERVALS).join(', ')}`);
      if (!(from < to)) throw new LakeError('QUERY_INVALID', 'from: must be before to');
      const params = { symbol, fromMs: from, toMs: to, bucket: BUCKET[interval] };
      const aligned = from % MINUTE_MS === 0 && to % MINUTE_MS === 0;
      const fromRollups = candleSource === 'rollups' || (candleSource === 'auto' && aligned);
      // Ties in time (two sources stamping the same instant) are broken by source, in both paths,
      // so open, close and volume never depend on the order DuckDB reads files in.
      const rows = fromRollups
        ? await lake.query(
            `candles for ${symbol} (${interval}) from rollups`,
            `SELECT epoch_ms(time_bucket(CAST($bucket AS INTERVAL), minute))::DOUBLE AS time,
                    arg_min(open, (open_ts, source)) AS open, max(high) AS high, min(low) AS low,
                    arg_max(close, (close_ts, source)) AS close, sum(ticks)::INTEGER AS count,
                    arg_max(volume_24h_usd, (volume_ts, source)) AS volume_24h_usd
               FROM candles_1m_partials
              WHERE symbol = $symbol AND minute >= epoch_ms($fromMs::BIGINT) AND minute < epoch_ms($toMs::BIGINT)
              GROUP BY 1
              ORDER BY 1`,
            params,
          )
        : await lake.query(
            `candles for ${symbol} (${interval})`,
            `SELECT epoch_ms(time_bucket(CAST($bucket AS INTERVAL), ts))::DOUBLE AS time,
                    arg_min(price_usd, (ts, source)) AS open, max(price_usd) AS high, min(price_usd) AS low,
                    arg_max(price_usd, (ts, source)) AS close, count(*)::INTEGER AS count,
                    arg_max(volume_24h_usd, (ts, source)) AS volume_24h_usd
               FROM prices
              WHERE symbol = $symbol AND ts >= epoch_ms($fromMs::BIGINT) AND ts < epoch_ms($toMs::BIGINT)
              GROUP BY 1
              ORDER BY 1`,
            params,
          );
      return rows.map((row) => ({
        ...candlePrices(row),
        count: num(row.count),
        volume24hUsd: numOrNull(row.volume_24h_usd),
      }));
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

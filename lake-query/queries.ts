import { liveFilesFilterSql, liveParquetSql } from '../core/lake-layout.ts';
import { DATASETS } from '../core/records/topics.ts';
import type { DuckDBValue, JS } from '@duckdb/node-api';
import { LakeError } from '../core/errors.ts';
import type { Lake, Row } from './lake.ts';

/** What the queries need of a `Lake`; tests wrap it, e.g. to EXPLAIN ANALYZE every statement. */
export type LakeReader = Pick<Lake, 'query' | 'hasFiles' | 'source'>;
import { sqlString } from './lake-source.ts';

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
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** Where candles come from: `auto` uses the rollups when they answer exactly, else the raw prices. */
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

/** One day folder of the prices dataset, from Parquet footers (no data is read). */
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
 * become conditions on the hive columns year/month/day, so DuckDB opens only the matching day
 * folders. `latest` looks at the newest `latestLookbackDays` day folders (default 7): a symbol
 * silent for longer is not "latest" any more, and the query stays cheap as the lake grows.
 */
export function createLakeQueries(
  lake: LakeReader,
  options: { latestLookbackDays?: number; candleSource?: CandleSource } = {},
): LakeQueries {
  const lookbackDays = options.latestLookbackDays ?? 7;
  const candleSource = options.candleSource ?? 'auto';
  const rollups = () => liveParquetSql(lake.source.root, DATASETS.candles1m);

  /**
   * True when the `candles_1m` rollups give exactly the raw answer: the range starts and ends on
   * whole minutes, and in every day it touches the rollups aggregate as many raw rows as the live
   * raw files hold (a day written before rollups existed, or a raw file whose twin is not stored
   * yet, sends the query to the raw data). A lake without any rollup file yet makes DuckDB find
   * no files: the raw data answers then too.
   */
  async function rollupsCover(from: number, to: number, days: ReturnType<typeof dayRange>): Promise<boolean> {
    if (from % MINUTE_MS !== 0 || to % MINUTE_MS !== 0) return false;
    try {
      const [row] = await lake.query(
        'rollup coverage',
        // Raw rows per day from the Parquet footers of the live files: no raw data is read.
        `WITH footers AS (SELECT file_name AS filename, num_rows,
                                 regexp_extract(file_name, 'year=(\\d+)/month=(\\d+)/day=(\\d+)/', ['y', 'm', 'd']) AS p
                            FROM parquet_file_metadata(${sqlString(lake.source.glob('prices'))})),
              raw AS (SELECT year, month, day, sum(num_rows)::DOUBLE AS n
                        FROM (SELECT p.y::INTEGER AS year, p.m::INTEGER AS month, p.d::INTEGER AS day, num_rows
                                FROM footers WHERE p.y <> '' AND ${liveFilesFilterSql(lake.source.root, DATASETS.prices)})
                       WHERE ${days.sql} GROUP BY ALL),
              rolled AS (SELECT year, month, day, sum(raw_rows)::DOUBLE AS n FROM ${rollups()} WHERE ${days.sql} GROUP BY ALL)
         SELECT count(*)::INTEGER AS gaps FROM raw FULL OUTER JOIN rolled USING (year, month, day) WHERE raw.n IS DISTINCT FROM rolled.n`,
        days.params,
      );
      return num(row?.gaps) === 0;
    } catch (error) {
      if (error instanceof LakeError && /No files found/i.test(error.message)) return false;
      throw error;
    }
  }

  async function partitions(): Promise<PartitionInfo[]> {
    if (!(await lake.hasFiles('prices'))) return [];
    const rows = await lake.query(
      'the partition list',
      `SELECT p.y::INTEGER AS year, p.m::INTEGER AS month, p.d::INTEGER AS day, count(*)::INTEGER AS files,
              sum(num_rows)::DOUBLE AS rows, sum(file_size_bytes)::DOUBLE AS bytes
         FROM (SELECT file_name AS filename, num_rows, file_size_bytes,
                      regexp_extract(file_name, 'year=(\\d+)/month=(\\d+)/day=(\\d+)/', ['y', 'm', 'd']) AS p
                 FROM parquet_file_metadata(${sqlString(lake.source.glob('prices'))}))
        WHERE p.y <> '' AND ${liveFilesFilterSql(lake.source.root, DATASETS.prices)}
        GROUP BY ALL
        ORDER BY year DESC, month DESC, day DESC`,
    );
    return rows.map((row) => {
      const [year, month, day] = [num(row.year), num(row.month), num(row.day)];
      return { date: isoDay(year, month, day), year, month, day, files: num(row.files), rows: num(row.rows), bytes: num(row.bytes) };
    });
  }

  return {
    partitions,

    async latest() {
      if (!(await lake.hasFiles('prices'))) return [];
      const newest = await newestDay(lake);
      if (newest === undefined) return [];
      const since = dayRange('since', newest - lookbackDays * DAY_MS);
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
          WHERE ${since.sql}
          GROUP BY symbol
          ORDER BY symbol`,
        since.params,
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
      if (!(await lake.hasFiles('prices'))) return [];
      const days = dayRange('range', from, to - 1);
      const params = { symbol, fromMs: from, toMs: to, bucket: BUCKET[interval], ...days.params };
      // Ties in time (two sources stamping the same instant) are broken by source, in both paths,
      // so open, close and volume never depend on the order DuckDB reads files in.
      const fromRollups = candleSource === 'rollups' || (candleSource === 'auto' && (await rollupsCover(from, to, days)));
      const rows = fromRollups
        ? await lake.query(
            `candles for ${symbol} (${interval}) from rollups`,
            `SELECT epoch_ms(time_bucket(CAST($bucket AS INTERVAL), minute))::DOUBLE AS time,
                    arg_min(open, (open_ts, source)) AS open, max(high) AS high, min(low) AS low,
                    arg_max(close, (close_ts, source)) AS close, sum(ticks)::INTEGER AS count,
                    arg_max(volume_24h_usd, (volume_ts, source)) AS volume_24h_usd
               FROM ${rollups()}
              WHERE symbol = $symbol AND minute >= epoch_ms($fromMs::BIGINT) AND minute < epoch_ms($toMs::BIGINT) AND ${days.sql}
              GROUP BY 1
              ORDER BY 1`,
            params,
          )
        : // Group by id first: the bus delivers at least once, so a record may sit in the lake twice.
          await lake.query(
            `candles for ${symbol} (${interval})`,
            `WITH observed AS (
               SELECT id, any_value(ts) AS ts, any_value(source) AS source, any_value(price_usd) AS price_usd,
                      any_value(volume_24h_usd) AS volume_24h_usd
                 FROM prices
                WHERE symbol = $symbol AND ts >= epoch_ms($fromMs::BIGINT) AND ts < epoch_ms($toMs::BIGINT) AND ${days.sql}
                GROUP BY id
             )
             SELECT epoch_ms(time_bucket(CAST($bucket AS INTERVAL), ts))::DOUBLE AS time,
                    arg_min(price_usd, (ts, source)) AS open, max(price_usd) AS high, min(price_usd) AS low,
                    arg_max(price_usd, (ts, source)) AS close, count(*)::INTEGER AS count,
                    arg_max(volume_24h_usd, (ts, source)) AS volume_24h_usd
               FROM observed
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
      if (!(await lake.hasFiles('dead_letters'))) return [];
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

/** The newest day folder of the prices dataset as epoch ms of its UTC midnight, from the file list alone. */
async function newestDay(lake: LakeReader): Promise<number | undefined> {
  const rows = await lake.query(
    'the newest day in the lake',
    `SELECT max(make_date(p.y::INTEGER, p.m::INTEGER, p.d::INTEGER))::VARCHAR AS newest
       FROM (SELECT regexp_extract(file, 'year=(\\d+)/month=(\\d+)/day=(\\d+)/', ['y', 'm', 'd']) AS p
               FROM glob(${sqlString(lake.source.glob('prices'))}))
      WHERE p.y <> ''`,
  );
  const newest = rows[0]?.newest;
  return typeof newest === 'string' ? Date.parse(`${newest}T00:00:00Z`) : undefined;
}

/**
 * A condition on the hive columns for the days of `fromMs` .. `toMs` (both inclusive), written as
 * plain comparisons on each column: DuckDB prunes folders only for those, not for `make_date(...)`.
 */
export function dayRange(prefix: string, fromMs: number, toMs?: number): { sql: string; params: Record<string, DuckDBValue> } {
  const from = new Date(fromMs);
  const params: Record<string, DuckDBValue> = {
    [`${prefix}FromY`]: from.getUTCFullYear(),
    [`${prefix}FromM`]: from.getUTCMonth() + 1,
    [`${prefix}FromD`]: from.getUTCDate(),
  };
  const [y, m, d] = Object.keys(params).map((key) => `$${key}`);
  let sql = `(year > ${y} OR (year = ${y} AND (month > ${m} OR (month = ${m} AND day >= ${d}))))`;
  if (toMs !== undefined) {
    const to = new Date(toMs);
    Object.assign(params, {
      [`${prefix}ToY`]: to.getUTCFullYear(),
      [`${prefix}ToM`]: to.getUTCMonth() + 1,
      [`${prefix}ToD`]: to.getUTCDate(),
    });
    const [ty, tm, td] = [`$${prefix}ToY`, `$${prefix}ToM`, `$${prefix}ToD`];
    sql += ` AND (year < ${ty} OR (year = ${ty} AND (month < ${tm} OR (month = ${tm} AND day <= ${td}))))`;
  }
  return { sql: `(${sql})`, params };
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

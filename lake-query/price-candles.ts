import type { DuckDBValue } from '@duckdb/node-api';
import { aggregates, CANDLE_GRAINS, candles1m, mergeRule } from '../core/datasets/index.ts';
import { planPieces, piecesSql } from './candle-plan.ts';
import type { Row } from './lake.ts';

/** Where candles come from: the rollups at the grains that fit (the default), or only the raw prices (the reference, for tests). */
export type CandlesFrom = 'rollups' | 'raw';

/** The DuckDB interval of each candle width the API offers. */
const BUCKET_INTERVAL: Record<number, string> = {
  60_000: '1 minute',
  300_000: '5 minutes',
  900_000: '15 minutes',
  3_600_000: '1 hour',
  14_400_000: '4 hours',
  86_400_000: '1 day',
};

/** The partial columns a price candle needs. */
const COLUMNS = ['source', 'open', 'open_ts', 'high', 'low', 'close', 'close_ts', 'ticks', 'volume_24h_usd', 'volume_ts'];

/**
 * The candles' rule, first step: each source's own candle, aggregated over its partials of the
 * candle (grouped by candle and source) as the 1-minute rollup merges them: open and close by
 * time, high, low, ticks, its newest 24h volume.
 */
export const SOURCE_CANDLE = mergeRule(candles1m, ['open', 'high', 'low', 'close', 'ticks', 'volume_24h_usd']);

/**
 * The candles' rule, second step: the composite, aggregated over the sources' candles (grouped by
 * candle): the median of their opens, highs, lows, closes and volumes, the sum of their ticks, and
 * which sources they were. The median of three or more sources cannot be dragged by one outlying
 * source (with two, it is their mean); the median of one is itself.
 */
export const COMPOSITE_CANDLE = {
  open: 'median(open)',
  high: 'median(high)',
  low: 'median(low)',
  close: 'median(close)',
  count: 'sum(ticks)::DOUBLE',
  volume_24h_usd: 'median(volume_24h_usd)',
  sources: "string_agg(source, ',' ORDER BY source)",
} as const;

/**
 * The SQL of price candles `widthMs` wide for one symbol over [`from`, `to`): per candle, each
 * source's own candle from its partials of every piece (`SOURCE_CANDLE`), then the composite
 * across sources (`COMPOSITE_CANDLE`). With `source` set, only that source's candles. Every
 * candle is exact for any range: rollups cover whole periods, raw prices the rest.
 */
export function priceCandlesSql(
  query: { symbol: string; source?: string | undefined; from: number; to: number; widthMs: number },
  candlesFrom: CandlesFrom,
): { sql: string; params: Record<string, DuckDBValue> } {
  const bucket = BUCKET_INTERVAL[query.widthMs];
  if (!bucket) throw new Error(`no candle width of ${query.widthMs} ms`);
  const params: Record<string, number | string> = { symbol: query.symbol, bucket };
  const where = ['symbol = $symbol'];
  if (query.source !== undefined) {
    where.push('source = $source');
    params.source = query.source;
  }
  const pieces = planPieces(query.from, query.to, query.widthMs, candlesFrom === 'rollups' ? CANDLE_GRAINS : []);
  const sql = `
    WITH pieces AS (${piecesSql(pieces, { finest: candles1m, where, columns: COLUMNS }, params)}),
    per_source AS (
      SELECT time_bucket(CAST($bucket AS INTERVAL), t) AS time, source, ${aggregates(SOURCE_CANDLE)}
        FROM pieces
       GROUP BY 1, 2
    )
    SELECT epoch_ms(time)::DOUBLE AS time, ${aggregates(COMPOSITE_CANDLE)}
      FROM per_source
     GROUP BY time
     ORDER BY time`;
  return { sql, params };
}

/** The sources named by candle rows (`sources`: a comma list each), once each, sorted. */
export function sourcesOf(rows: readonly Row[]): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const name of String(row.sources ?? '').split(',')) if (name) names.add(name);
  return [...names].sort();
}

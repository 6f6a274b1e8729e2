import type { DuckDBValue, JS } from '@duckdb/node-api';
import { median } from '../core/median.ts';
import { candles1m } from '../core/datasets/index.ts';
import { planPieces, piecesSql } from './candle-plan.ts';
import type { Row } from './lake.ts';
import { aggregates, COMPOSITE_CANDLE, SOURCE_CANDLE } from './price-candles.ts';
import { CANDLE_INTERVALS, type CandleInterval, type LakeQueries, type LakeReader } from './queries.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export interface IndicatorQuery {
  symbol: string;
  /** candle width the averages and volatility are computed on */
  interval: CandleInterval;
  /** candles in the moving averages and the volatility window */
  window: number;
  /** epoch ms the figures are computed at (the end of the window) */
  at: number;
  /** One source's figures; unset: the composite of every source, as the candles. */
  source?: string | undefined;
}

/** Price spread across providers in the symbol's latest minute: (max - min) / median. */
export interface ProviderSpread {
  sources: { source: string; priceUsd: number; ts: number }[];
  min: number;
  max: number;
  median: number;
  spreadPct: number;
}

export interface Indicators {
  symbol: string;
  /** What the figures are computed on: the composite candles (median across sources) or one source's. */
  basis: 'composite' | 'source';
  /** The sources of the candles the figures come from. */
  sources: string[];
  interval: CandleInterval;
  window: number;
  at: number;
  /** candles the figures were computed from (fewer than `window` early in a lake's life) */
  candles: number;
  lastClose: number | null;
  /** simple moving average of the closes over `window` candles */
  sma: number | null;
  /** exponential moving average of the closes, alpha = 2 / (window + 1) */
  ema: number | null;
  /** sample standard deviation of the log returns between consecutive closes */
  volatility: number | null;
  /** percent change from the close at `at - 24h` to the close at `at`, closes by the candles' rule (composite or the source's) */
  change24hPct: number | null;
  spread: ProviderSpread | null;
}

/**
 * The indicators of one symbol from the lake's rollups, by the candles' rule: moving averages and
 * volatility on the candles (composite by default: the median across sources per bucket, so one
 * outlying source cannot drag them), the 24h change between the closes at `at - 24h` and `at`,
 * each a 1-minute close by the same rule, and the spread between providers (each source's last
 * price). Every figure is null when the lake lacks the data. Two statements: the candles, and
 * the closes with the spread (`dayFiguresSql`).
 */
export async function indicators(lake: LakeReader, queries: Pick<LakeQueries, 'candles'>, q: IndicatorQuery): Promise<Indicators> {
  const width = CANDLE_INTERVALS[q.interval];
  const to = Math.floor(q.at / width) * width + width;
  const [series, { change24hPct, spread }] = await Promise.all([
    queries.candles({ symbol: q.symbol, source: q.source, interval: q.interval, from: to - (q.window + 1) * width, to }),
    dayFigures(lake, q),
  ]);
  const candles = series.candles.slice(-(q.window + 1));
  const closes = candles.map((c) => c.close);
  const window = closes.slice(-q.window);
  const returns = closes.slice(1).map((close, i) => Math.log(close / closes[i]!));
  return {
    symbol: q.symbol,
    basis: series.basis,
    sources: series.sources,
    interval: q.interval,
    window: q.window,
    at: q.at,
    candles: window.length,
    lastClose: closes.at(-1) ?? null,
    sma: window.length > 0 ? window.reduce((a, b) => a + b, 0) / window.length : null,
    ema: window.length > 0 ? ema(window) : null,
    volatility: returns.length >= 2 ? stdev(returns) : null,
    change24hPct,
    spread,
  };
}

/** The first whole minute at or after `ms`: a window starting there needs no raw prices at its start. */
function wholeMinuteAfter(ms: number): number {
  return Math.ceil(ms / MINUTE_MS) * MINUTE_MS;
}

function ema(values: number[]): number {
  const alpha = 2 / (values.length + 1);
  return values.slice(1).reduce((acc, value) => alpha * value + (1 - alpha) * acc, values[0]!);
}

function stdev(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1));
}

/** The 24h change and the provider spread at `at`, from one statement (`dayFiguresSql`). */
async function dayFigures(lake: LakeReader, q: IndicatorQuery): Promise<Pick<Indicators, 'change24hPct' | 'spread'>> {
  const { sql, params } = dayFiguresSql(q);
  const [row] = await lake.query(`the 24h change and provider spread of ${q.symbol}${q.source ? ` from ${q.source}` : ''}`, sql, params);
  const [now, then] = [numOrNull(row?.close_at), numOrNull(row?.close_day_before)];
  return { change24hPct: now === null || then === null || then === 0 ? null : (now / then - 1) * 100, spread: providerSpread(row?.spread) };
}

/**
 * One statement for the close at `at`, the close at `at - 24h` and the provider spread at `at`,
 * over the 1-minute partials of the symbol read once, from the first whole minute of the day
 * before `at - 24h` to `at`. Each instant's day is the partials from its own first whole minute
 * up to the instant: the pieces are split 1 ms after `at - 24h`, so every partial holds prices
 * either all up to it or all after it, and its `close_ts` tells which.
 * - The closes (by the candles' rule, `source`'s alone when set): each the close of the newest
 *   1-minute candle among the prices of the instant's day.
 * - The spread (every source): each source's last price of the day before `at`, for the sources
 *   whose last price is within a minute of the newest one (a partial's close is its source's last
 *   price in the minute).
 */
function dayFiguresSql(q: Pick<IndicatorQuery, 'symbol' | 'source' | 'at'>): { sql: string; params: Record<string, DuckDBValue> } {
  const dayBefore = q.at - DAY_MS;
  const params: Record<string, string | number> = {
    symbol: q.symbol,
    at: q.at,
    at_from: wholeMinuteAfter(q.at - DAY_MS),
    day_before: dayBefore,
    day_before_from: wholeMinuteAfter(dayBefore - DAY_MS),
  };
  const pieces = [
    ...planPieces(wholeMinuteAfter(dayBefore - DAY_MS), dayBefore + 1, MINUTE_MS, [candles1m]),
    ...planPieces(dayBefore + 1, q.at + 1, MINUTE_MS, [candles1m]),
  ];
  const onlySource = q.source === undefined ? '' : 'WHERE source = $source';
  if (q.source !== undefined) params.source = q.source;
  const sql = `
    WITH pieces AS (${piecesSql(pieces, { finest: candles1m, where: ['symbol = $symbol'], columns: ['source', 'close', 'close_ts'] }, params)}),
    instants (instant, day_from, up_to) AS (VALUES
      ('at', epoch_ms($at_from::BIGINT), epoch_ms($at::BIGINT)),
      ('day_before', epoch_ms($day_before_from::BIGINT), epoch_ms($day_before::BIGINT))
    ),
    days AS (SELECT instant, pieces.* FROM instants JOIN pieces ON t >= day_from AND close_ts <= up_to),
    per_source AS (SELECT instant, t, source, ${aggregates(SOURCE_CANDLE, ['close'])} FROM days ${onlySource} GROUP BY ALL),
    candles AS (SELECT instant, t, ${aggregates(COMPOSITE_CANDLE, ['close'])} FROM per_source GROUP BY ALL),
    closes AS (SELECT instant, arg_max(close, t) AS close FROM candles GROUP BY instant),
    last AS (SELECT source, ${SOURCE_CANDLE.close} AS price, max(close_ts) AS ts FROM days WHERE instant = 'at' GROUP BY source)
    SELECT (SELECT close FROM closes WHERE instant = 'at') AS close_at,
           (SELECT close FROM closes WHERE instant = 'day_before') AS close_day_before,
           (SELECT list({'source': source, 'price': price, 'ts': epoch_ms(ts)::DOUBLE} ORDER BY source)
              FROM last WHERE ts > (SELECT max(ts) FROM last) - INTERVAL 1 MINUTE) AS spread`;
  return { sql, params };
}

/** The spread between the sources' last prices (a list of `{ source, price, ts }`); null without any. */
function providerSpread(list: JS | undefined): ProviderSpread | null {
  if (!Array.isArray(list) || list.length === 0) return null;
  const sources = (list as Row[]).map((s) => ({ source: String(s.source), priceUsd: Number(s.price), ts: Number(s.ts) }));
  const prices = sources.map((s) => s.priceUsd);
  const [min, max, middle] = [Math.min(...prices), Math.max(...prices), median(prices)];
  return { sources, min, max, median: middle, spreadPct: middle > 0 ? ((max - min) / middle) * 100 : 0 };
}

function numOrNull(value: JS | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

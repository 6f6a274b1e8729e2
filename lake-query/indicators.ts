import type { DuckDBValue, JS } from '@duckdb/node-api';
import { median } from '../core/median.ts';
import { aggregates, candles1m } from '../core/datasets/index.ts';
import { planPieces, piecesSql } from './candle-plan.ts';
import type { Row } from './lake.ts';
import { COMPOSITE_CANDLE, SOURCE_CANDLE } from './price-candles.ts';
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
 * price). Every figure is null when the lake lacks the data. Three statements at once: the
 * candles, and one per day of the 24 h change (`daySql`, the later one with the spread).
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

/**
 * The 24h change and the provider spread at `at`: the day before `at` (its close and the spread)
 * and the day before `at - 24h` (its close), one statement each, asked at once.
 */
async function dayFigures(lake: LakeReader, q: IndicatorQuery): Promise<Pick<Indicators, 'change24hPct' | 'spread'>> {
  const ask = (instant: number, spread: boolean) => {
    const { sql, params } = daySql({ ...q, instant, spread });
    const what = `the ${spread ? 'close and provider spread' : 'close'} of ${q.symbol}${q.source ? ` from ${q.source}` : ''} at ${new Date(instant).toISOString()}`;
    return lake.query(what, sql, params).then(([row]) => row);
  };
  const [atRow, dayBeforeRow] = await Promise.all([ask(q.at, true), ask(q.at - DAY_MS, false)]);
  const [now, then] = [numOrNull(atRow?.close), numOrNull(dayBeforeRow?.close)];
  return {
    change24hPct: now === null || then === null || then === 0 ? null : (now / then - 1) * 100,
    spread: providerSpread(atRow?.spread),
  };
}

/**
 * The statement of one instant's day, the 1-minute partials of the symbol from the first whole
 * minute of the day before `instant` up to it (raw prices for the minute of `instant`):
 * - `close`: the close of the newest 1-minute candle of that day, by the candles' rule (the
 *   median across sources; `source`'s alone when set);
 * - `spread` (when asked; every source): each source's last price of the day, for the sources
 *   whose last price is within a minute of the newest one (a partial's close is its source's last
 *   price in the minute).
 * Two scans: the rollup and the raw minute, as few as a day can be read exactly.
 */
function daySql(q: { symbol: string; source?: string | undefined; instant: number; spread: boolean }): {
  sql: string;
  params: Record<string, DuckDBValue>;
} {
  const params: Record<string, string | number> = { symbol: q.symbol };
  const pieces = planPieces(wholeMinuteAfter(q.instant - DAY_MS), q.instant + 1, MINUTE_MS, [candles1m]);
  const onlySource = q.source === undefined ? '' : 'WHERE source = $source';
  if (q.source !== undefined) params.source = q.source;
  const spread = q.spread
    ? `(SELECT list({'source': source, 'price': price, 'ts': epoch_ms(ts)::DOUBLE} ORDER BY source)
          FROM last WHERE ts > (SELECT max(ts) FROM last) - INTERVAL 1 MINUTE)`
    : 'NULL';
  const sql = `
    WITH pieces AS (${piecesSql(pieces, { finest: candles1m, where: ['symbol = $symbol'], columns: ['source', 'close', 'close_ts'] }, params)}),
    per_source AS (SELECT t, source, ${aggregates(SOURCE_CANDLE, ['close'])} FROM pieces ${onlySource} GROUP BY ALL),
    candles AS (SELECT t, ${aggregates(COMPOSITE_CANDLE, ['close'])} FROM per_source GROUP BY ALL),
    last AS (SELECT source, ${SOURCE_CANDLE.close} AS price, max(close_ts) AS ts FROM pieces GROUP BY source)
    SELECT (SELECT arg_max(close, t) FROM candles) AS close, ${spread} AS spread`;
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

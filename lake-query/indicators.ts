import { median } from '../core/median.ts';
import { candles1m } from '../core/datasets/index.ts';
import { planPieces, piecesSql } from './candle-plan.ts';
import { CANDLE_INTERVALS, type CandleInterval, type LakeQueries, type LakeReader } from './queries.ts';

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
 * price). Every figure is null when the lake lacks the data.
 */
export async function indicators(lake: LakeReader, queries: Pick<LakeQueries, 'candles'>, q: IndicatorQuery): Promise<Indicators> {
  const width = CANDLE_INTERVALS[q.interval];
  const to = Math.floor(q.at / width) * width + width;
  const [series, change24hPct, spread] = await Promise.all([
    queries.candles({ symbol: q.symbol, source: q.source, interval: q.interval, from: to - (q.window + 1) * width, to }),
    change24h(queries, q),
    providerSpread(lake, q.symbol, q.at),
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
  return Math.ceil(ms / 60_000) * 60_000;
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
 * The close at `at` against the close at `at - 24h`: each the close of the newest 1-minute candle
 * (by the candles' rule) among prices up to that instant, within the day before it.
 */
async function change24h(queries: Pick<LakeQueries, 'candles'>, q: IndicatorQuery): Promise<number | null> {
  const closeAt = async (instant: number) => {
    const series = await queries.candles({
      symbol: q.symbol,
      source: q.source,
      interval: '1m',
      from: wholeMinuteAfter(instant - DAY_MS),
      to: instant + 1,
    });
    return series.candles.at(-1)?.close ?? null;
  };
  const [now, then] = await Promise.all([closeAt(q.at), closeAt(q.at - DAY_MS)]);
  return now === null || then === null || then === 0 ? null : (now / then - 1) * 100;
}

/**
 * Each source's last price of the symbol within the day before `at`, for the sources whose last
 * price is within a minute of the newest one: from the 1-minute partials (a partial's close is
 * its source's last price in the minute), raw prices only after the last whole minute.
 */
async function providerSpread(lake: LakeReader, symbol: string, at: number): Promise<ProviderSpread | null> {
  const params: Record<string, string | number> = { symbol };
  const pieces = planPieces(wholeMinuteAfter(at - DAY_MS), at + 1, 60_000, [candles1m]);
  const rows = await lake.query(
    `the provider spread of ${symbol}`,
    `WITH pieces AS (${piecesSql(pieces, { finest: candles1m, where: ['symbol = $symbol'], columns: ['source', 'close', 'close_ts'] }, params)}),
     last AS (SELECT source, arg_max(close, close_ts) AS price, max(close_ts) AS ts FROM pieces GROUP BY source)
     SELECT source, price, epoch_ms(ts)::DOUBLE AS ts
       FROM last WHERE ts > (SELECT max(ts) FROM last) - INTERVAL 1 MINUTE
      ORDER BY source`,
    params,
  );
  if (rows.length === 0) return null;
  const sources = rows.map((row) => ({ source: String(row.source), priceUsd: Number(row.price), ts: Number(row.ts) }));
  const prices = sources.map((s) => s.priceUsd);
  const [min, max, middle] = [Math.min(...prices), Math.max(...prices), median(prices)];
  return { sources, min, max, median: middle, spreadPct: middle > 0 ? ((max - min) / middle) * 100 : 0 };
}

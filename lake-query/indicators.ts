import type { JS } from '@duckdb/node-api';
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
  /** percent change from the last price at or before `at - 24h` to the last price at or before `at` */
  change24hPct: number | null;
  spread: ProviderSpread | null;
}

/**
 * The indicators of one symbol from the lake: moving averages and volatility on candles, the 24h
 * change, and the spread between providers. Every figure is null when the lake lacks the data.
 */
export async function indicators(lake: LakeReader, queries: Pick<LakeQueries, 'candles'>, q: IndicatorQuery): Promise<Indicators> {
  const width = CANDLE_INTERVALS[q.interval];
  const to = Math.floor(q.at / width) * width + width;
  const candles = (await queries.candles({ symbol: q.symbol, interval: q.interval, from: to - (q.window + 1) * width, to })).slice(
    -(q.window + 1),
  );
  const closes = candles.map((c) => c.close);
  const window = closes.slice(-q.window);
  const returns = closes.slice(1).map((close, i) => Math.log(close / closes[i]!));
  const [change24hPct, spread] = await Promise.all([change24h(lake, q.symbol, q.at), providerSpread(lake, q.symbol, q.at)]);
  return {
    symbol: q.symbol,
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

function ema(values: number[]): number {
  const alpha = 2 / (values.length + 1);
  return values.slice(1).reduce((acc, value) => alpha * value + (1 - alpha) * acc, values[0]!);
}

function stdev(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (values.length - 1));
}

async function change24h(lake: LakeReader, symbol: string, at: number): Promise<number | null> {
  const rows = await lake.query(
    `the 24h change of ${symbol}`,
    `SELECT arg_max(price_usd, ts) FILTER (WHERE ts <= epoch_ms($atMs::BIGINT)) AS now_price,
            arg_max(price_usd, ts) FILTER (WHERE ts <= epoch_ms($agoMs::BIGINT)) AS then_price
       FROM prices WHERE symbol = $symbol AND ts > epoch_ms($sinceMs::BIGINT) AND ts <= epoch_ms($atMs::BIGINT)`,
    { symbol, atMs: at, agoMs: at - DAY_MS, sinceMs: at - 2 * DAY_MS },
  );
  const [now, then] = [numOrNull(rows[0]?.now_price), numOrNull(rows[0]?.then_price)];
  return now === null || then === null || then === 0 ? null : (now / then - 1) * 100;
}

async function providerSpread(lake: LakeReader, symbol: string, at: number): Promise<ProviderSpread | null> {
  // The latest minute of this symbol in the lake, then each source's last price within it.
  const rows = await lake.query(
    `the provider spread of ${symbol}`,
    `WITH recent AS (
       SELECT source, ts, price_usd FROM prices
        WHERE symbol = $symbol AND ts <= epoch_ms($atMs::BIGINT) AND ts > epoch_ms($sinceMs::BIGINT)
     ), edge AS (SELECT max(ts) AS newest FROM recent)
     SELECT source, arg_max(price_usd, ts) AS price, epoch_ms(max(ts))::DOUBLE AS ts
       FROM recent, edge WHERE ts > newest - INTERVAL 1 MINUTE
      GROUP BY source ORDER BY source`,
    { symbol, atMs: at, sinceMs: at - DAY_MS },
  );
  if (rows.length === 0) return null;
  const sources = rows.map((row) => ({ source: String(row.source), priceUsd: Number(row.price), ts: Number(row.ts) }));
  const prices = sources.map((s) => s.priceUsd).sort((a, b) => a - b);
  const mid = prices.length / 2;
  const median = prices.length % 2 === 1 ? prices[Math.floor(mid)]! : (prices[mid - 1]! + prices[mid]!) / 2;
  const [min, max] = [prices[0]!, prices.at(-1)!];
  return { sources, min, max, median, spreadPct: median > 0 ? ((max - min) / median) * 100 : 0 };
}

function numOrNull(value: JS | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

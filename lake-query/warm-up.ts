import type { Logger } from '../core/log.ts';
import { VENUES } from '../core/records/trade.ts';
import { queryAlerts } from './http/alerts.ts';
import { indicators } from './indicators.ts';
import { CANDLE_INTERVALS, createLakeQueries, type CandleInterval, type CandleQuery, type LakeReader } from './queries.ts';
import { createTradeQueries } from './trade-queries.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The symbol the dashboard opens on when its URL names none. This module holds its own copy of
 * what the page asks first (lake-query imports no page code: its image holds only the page's
 * bundle); `warm-up.test.ts` checks each against `dashboard/src/page-defaults.ts`.
 */
export const DASHBOARD_SYMBOL = 'BTC';

/** A price chart the dashboard offers: a range ending now, in candles `interval` wide. */
interface ChartView {
  range: string;
  rangeMs: number;
  interval: CandleInterval;
}

/**
 * The price charts warmed: the one the dashboard opens on (6 hours of 1-minute candles) and each
 * longer range of its range picker (`RANGES` in `dashboard/src/api.ts`) at a width that reads as a
 * chart. Between them they read every candle rollup (1 minute, 1 hour, 1 day) over the span it is
 * charted; the price table's sparklines (every symbol, 15-minute candles of a day) read the files
 * of the 1-day chart.
 */
export const CHART_VIEWS: readonly [ChartView, ...ChartView[]] = [
  { range: '6H', rangeMs: 6 * HOUR_MS, interval: '1m' },
  { range: '1D', rangeMs: DAY_MS, interval: '1m' },
  { range: '1W', rangeMs: 7 * DAY_MS, interval: '15m' },
  { range: '1M', rangeMs: 30 * DAY_MS, interval: '1h' },
  { range: '1Y', rangeMs: 365 * DAY_MS, interval: '1d' },
];

/** What the dashboard's first page asks besides the charts. */
export const FIRST_PAGE = { indicators: { interval: '1m', window: 20 }, tradeCandles: 300, tape: 50, gaps: 50, alerts: 50 } as const;

export interface WarmUpOptions {
  /** epoch ms the ranges end at: the time of the start (for the benchmark, the end of its lake). */
  now: number;
  /** The symbol whose charts are asked when the lake has it, else the first of the latest prices. Default `DASHBOARD_SYMBOL`. */
  symbol?: string;
  /** Stops the warm-up before its next statement; the one running finishes. */
  signal?: AbortSignal;
}

/** What a warm-up asked. */
export interface WarmUpReport {
  /** The symbol whose charts and indicators were asked; undefined on a lake without prices. */
  symbol: string | undefined;
  /** The trade market whose candles and tape were asked (`binance BTCUSDT`); undefined without trades in the last 24 hours. */
  market: string | undefined;
  /** Statements run on the lake. */
  statements: number;
  durationMs: number;
  /** True when `signal` stopped it before its end. */
  stopped: boolean;
}

/**
 * Asks the lake what the dashboard asks first, one question after another, through the query
 * functions its routes use: the latest prices, the day partitions, the alerts, the opening chart
 * and the indicators of the symbol it opens on, the trade markets with the candles and tape of
 * the busiest, the gaps, then the chart at each longer range. A freshly opened DuckDB reads the
 * catalog and the files' metadata over the network with empty caches; after this, the first
 * visitor's asks find them cached. Rejects with the first question's error (it says what was
 * asked), leaving the rest unasked.
 */
export async function warmUp(lake: LakeReader, options: WarmUpOptions): Promise<WarmUpReport> {
  const started = performance.now();
  const { now, signal } = options;
  let statements = 0;
  const counted: LakeReader = {
    catalog: lake.catalog,
    query: (...args) => {
      statements += 1;
      return lake.query(...args);
    },
  };
  const queries = createLakeQueries(counted);
  const trades = createTradeQueries(counted);
  const ask = <T>(question: () => Promise<T>): Promise<T> => {
    signal?.throwIfAborted();
    return question();
  };
  let symbol: string | undefined;
  let market: string | undefined;
  const report = (stopped: boolean): WarmUpReport => ({ symbol, market, statements, durationMs: performance.now() - started, stopped });
  try {
    const latest = await ask(() => queries.latest());
    await ask(() => queries.partitions());
    await ask(() => queryAlerts(counted, { limit: FIRST_PAGE.alerts }));
    const wanted = options.symbol ?? DASHBOARD_SYMBOL;
    const chosen = latest.some((price) => price.symbol === wanted) ? wanted : latest[0]?.symbol;
    symbol = chosen;
    const [opening, ...longer] = CHART_VIEWS;
    if (chosen !== undefined) {
      await ask(() => queries.candles(chart(chosen, opening, now)));
      await ask(() => indicators(counted, queries, { symbol: chosen, ...FIRST_PAGE.indicators, at: now }));
    }
    const [busiest] = await ask(() => trades.markets(now));
    const venue = VENUES.find((name) => name === busiest?.venue);
    if (busiest && venue) {
      market = `${venue} ${busiest.market}`;
      const width = CANDLE_INTERVALS['1m'];
      const from = Math.floor((now - FIRST_PAGE.tradeCandles * width) / width) * width;
      await ask(() => trades.candles({ venue, market: busiest.market, interval: '1m', from, to: now }));
      await ask(() => trades.trades({ venue, market: busiest.market, limit: FIRST_PAGE.tape }, now));
    }
    await ask(() => trades.gaps({ limit: FIRST_PAGE.gaps }));
    if (chosen !== undefined) for (const view of longer) await ask(() => queries.candles(chart(chosen, view, now)));
  } catch (error) {
    if (signal?.aborted) return report(true);
    throw error;
  }
  return report(false);
}

/** The candles of `view` as the dashboard asks them: from the range's start floored to the width, to now. */
function chart(symbol: string, view: ChartView, now: number): CandleQuery {
  const width = CANDLE_INTERVALS[view.interval];
  return { symbol, interval: view.interval, from: Math.floor((now - view.rangeMs) / width) * width, to: now };
}

/** A warm-up running in the background, as `startLakeQuery` runs it. */
export interface BackgroundWarmUp {
  /** Resolves once the warm-up is done, failed or stopped, each logged once; never rejects. */
  done: Promise<void>;
  /** Stops it before its next statement and waits for the one running: call it before closing the lake. */
  stop(): Promise<void>;
}

/**
 * Starts `warmUp` without waiting for it. Its end is logged once: at info with the symbol, the
 * market, the statements and the duration; a failure as a warning with its reason (the server
 * answers anyway, the first asks cold).
 */
export function warmUpInBackground(lake: LakeReader, options: Omit<WarmUpOptions, 'signal'>, log: Logger): BackgroundWarmUp {
  const controller = new AbortController();
  const started = performance.now();
  const done = warmUp(lake, { ...options, signal: controller.signal }).then(
    (report) => {
      const fields = {
        symbol: report.symbol ?? null,
        market: report.market ?? null,
        statements: report.statements,
        durationMs: Math.round(report.durationMs),
      };
      if (report.stopped) log.info(fields, 'Stopped the warm-up before its end: lake-query is closing');
      else log.info(fields, 'Warmed the lake with what the dashboard asks first');
    },
    (error: unknown) => {
      log.warn(
        { err: error, durationMs: Math.round(performance.now() - started) },
        'The warm-up failed: the first asks after this start may be answered cold; the server answers anyway',
      );
    },
  );
  return {
    done,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

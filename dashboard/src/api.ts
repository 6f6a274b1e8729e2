/** The lake-query API as the page uses it. Shapes mirror lake-query/http; kept here so the page imports no server code. */

import { PAGE_DEFAULTS } from './page-defaults.ts';

export interface LatestPrice {
  symbol: string;
  source: string;
  priceUsd: number;
  change24hPct: number | null;
  volume24hUsd: number | null;
  marketCapUsd: number | null;
  ts: number;
}

export interface Candle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  count: number;
}

export interface Partition {
  date: string;
  files: number;
  rows: number;
  bytes: number;
}

export interface ProviderStatus {
  name: string;
  kind: string;
  ok: boolean;
  requests: number;
  failures: number;
  failuresByKind: Record<string, number>;
  cacheHits: number;
  recordsServed: number;
  fallbacks: number;
  lastLatencyMs: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
}

export interface Fallback {
  at: number;
  symbol: string;
  from: string;
  to: string | null;
  reason: string;
}

export interface Providers {
  ok: boolean;
  detail: string;
  synthetic: boolean;
  providers: ProviderStatus[];
  recentFallbacks: Fallback[];
  unserved: string[];
  lastPollAt: number | null;
}

export interface Pipeline {
  ok: boolean;
  detail: string;
  processor: {
    recordsWritten: number;
    filesWritten: number;
    lastFlushAt: number | null;
    lastFlushMs: number | null;
    deadLettered: number;
  } | null;
  lag: number;
  lakeFreshnessMs: number | null;
  live: { following: boolean; clients: number; received: number; dropped: number; error: string | null };
  /** Data files that cannot be read; the questions that need them answer 503. */
  brokenFiles: { table: string; path: string; problem: string; since: number }[];
  totals: { days: number; files: number; rows: number; bytes: number };
  days: Partition[];
}

/** What `/api/candles` and `/api/indicators` computed on: the composite (median across sources) or one source. */
export interface CandleBasis {
  basis: 'composite' | 'source';
  sources: string[];
}

export interface Indicators extends CandleBasis {
  candles: number;
  sma: number | null;
  ema: number | null;
  volatility: number | null;
  change24hPct: number | null;
  spread: { spreadPct: number; sources: { source: string; priceUsd: number }[] } | null;
}

export interface SqlResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  /** Which cap cut the rows, when `truncated`. */
  truncatedBy?: 'rows' | 'bytes';
  maxRows: number;
  maxBytes: number;
  elapsedMs: number;
}

/** An alert from `/api/alerts`; times are epoch ms UTC. */
export interface AlertItem {
  id: string;
  ts: number;
  rule: string;
  type: string;
  symbol: string;
  source: string;
  value: number;
  threshold: number;
  message: string;
}

/** A live price from `/api/stream`. */
export interface Tick {
  id: string;
  ts: number;
  symbol: string;
  source: string;
  price_usd: number;
  volume_24h_usd: number | null;
  change_24h_pct: number | null;
}

/** A market with trades in the last 24 h, from `/api/trade-markets`; `volume` is in the base currency. */
export interface TradeMarket {
  venue: string;
  market: string;
  symbol: string;
  trades: number;
  volume: number;
  lastTs: number;
}

/** A candle of exchange trades: `volume` in the base currency, `quoteVolume` in the quote, `buyVolume` taken by buyers. */
export interface TradeCandle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  quoteVolume: number;
  buyVolume: number;
  trades: number;
}

/** One exchange trade from `/api/trades`; `side` is the taker's, `via: 'rest'` marks a trade fetched back after a gap. */
export interface TradeItem {
  id: string;
  ts: number;
  symbol: string;
  venue: string;
  market: string;
  price: number;
  qty: number;
  side: 'buy' | 'sell';
  tradeId: number;
  via: 'stream' | 'rest';
}

/** A run of trade ids the lake does not have and could not fetch back, from `/api/gaps`. */
export interface GapItem {
  id: string;
  venue: string;
  market: string;
  symbol: string;
  firstTradeId: number;
  lastTradeId: number;
  missing: number;
  fromTs: number;
  toTs: number;
  cause: string;
  reason: string;
  detectedAt: number;
}

/** One venue's trade stream as the scraper reports it. */
export interface VenueStream {
  venue: string;
  markets: string[];
  connected: boolean;
  connections: number;
  tradesReceived: number;
  tickersReceived: number;
  duplicatesDropped: number;
  malformedFrames: number;
  tradesMissed: number;
  tradesRefilled: number;
  tradesCoveredByReplicas: number;
  gapsRecorded: number;
  buffered: number;
  paused: boolean;
  lastTradeAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
}

/** One stream reader (scraper replica) as it last reported. */
export interface StreamReplica {
  instance: string;
  updatedAt: number;
  reporting: boolean;
  venues: VenueStream[];
}

export interface Streams {
  ok: boolean;
  detail: string;
  /** Each venue over the reporting replicas. */
  venues: VenueStream[];
  replicas: StreamReplica[];
  /** Records the processors dropped at commit as already in the lake, per dataset. */
  lake: { processors: number; duplicatesDropped: Record<string, number> };
}

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers: { accept: 'application/json', ...init.headers } });
  } catch {
    throw new Error(`lake-query is not reachable (${path})`);
  }
  const body = (await response.json().catch(() => undefined)) as (T & { error?: string }) | undefined;
  if (!response.ok || body === undefined) throw new Error(body?.error ?? `${path} answered HTTP ${response.status}`);
  return body;
}

/** GETs a JSON endpoint; a failure rejects with the API's own `error` message when it sent one. */
export const getJson = <T>(path: string): Promise<T> => request<T>(path);

const q = encodeURIComponent;

export const api = {
  health: () => getJson<{ ok: boolean; synthetic: boolean }>('/api/health'),
  latest: () => getJson<{ asOf: number; prices: LatestPrice[] }>('/api/latest'),
  /** `source` empty: the composite, per bucket the median across sources of each source's candle. */
  candles: (symbol: string, interval: string, from: number, to?: number, source = '') =>
    getJson<CandleBasis & { candles: Candle[] }>(
      `/api/candles?symbol=${q(symbol)}&interval=${q(interval)}&from=${from}${to ? `&to=${to}` : ''}${source ? `&source=${q(source)}` : ''}`,
    ),
  indicators: (symbol: string, interval: string, source = '') =>
    getJson<Indicators>(
      `/api/indicators?symbol=${q(symbol)}&interval=${q(interval)}&window=${PAGE_DEFAULTS.indicatorWindow}${source ? `&source=${q(source)}` : ''}`,
    ),
  providers: () => getJson<Providers>('/api/providers'),
  alerts: (options: { symbol?: string; from?: number; to?: number; limit: number }) =>
    getJson<{ alerts: AlertItem[] }>(
      `/api/alerts?limit=${options.limit}${options.symbol ? `&symbol=${q(options.symbol)}` : ''}${options.from ? `&from=${options.from}` : ''}${options.to ? `&to=${options.to}` : ''}`,
    ),
  pipeline: () => getJson<Pipeline>('/api/pipeline'),
  tradeMarkets: () => getJson<{ markets: TradeMarket[] }>('/api/trade-markets'),
  tradeCandles: (venue: string, market: string, interval: string, from: number) =>
    getJson<{ candles: TradeCandle[] }>(`/api/trade-candles?venue=${q(venue)}&market=${q(market)}&interval=${q(interval)}&from=${from}`),
  trades: (venue: string, market: string, limit: number) =>
    getJson<{ trades: TradeItem[] }>(`/api/trades?venue=${q(venue)}&market=${q(market)}&limit=${limit}`),
  gaps: (limit: number) => getJson<{ gaps: GapItem[] }>(`/api/gaps?limit=${limit}`),
  streams: () => getJson<Streams>('/api/streams'),
  sql: (sql: string) =>
    request<SqlResult>('/api/sql', { method: 'POST', body: JSON.stringify({ sql }), headers: { 'content-type': 'application/json' } }),
};

/** Candle widths in ms, as the API names them. */
export const INTERVAL_MS: Record<string, number> = {
  '1m': 60_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '4h': 14_400_000,
  '1d': 86_400_000,
};

/** The range choices of the chart, in ms. */
export const RANGES: Record<string, number> = {
  '6H': 6 * 3_600_000,
  '1D': 86_400_000,
  '1W': 7 * 86_400_000,
  '1M': 30 * 86_400_000,
  '1Y': 365 * 86_400_000,
};

/** The start of a range, floored to the interval so that repeated asks hit the server's cache. */
export function rangeStart(now: number, rangeMs: number, interval: string): number {
  const width = INTERVAL_MS[interval] ?? 60_000;
  const candles = Math.min(Math.ceil(rangeMs / width), 50_000);
  return Math.floor((now - candles * width) / width) * width;
}

/** The lake-query API as the page uses it. Shapes mirror lake-query/http; kept here so the page imports no server code. */

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
  lastLatencyMs: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
}

export interface PartHealth {
  ok: boolean;
  detail: string;
}

export interface Health {
  ok: boolean;
  synthetic: boolean;
  checkedAt: number;
  parts: Record<string, PartHealth>;
  scraper: PartHealth & { status: { providers: ProviderStatus[]; unserved: string[]; lastPollAt: number | null } | null };
  processor: PartHealth & {
    status: {
      recordsWritten: number;
      filesWritten: number;
      lastFlushAt: number | null;
      deadLettered: number;
      lag: Record<string, number>;
    } | null;
  };
}

/** GETs a JSON endpoint; a failure rejects with the API's own `error` message when it sent one. */
export async function getJson<T>(path: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { headers: { accept: 'application/json' } });
  } catch {
    throw new Error(`lake-query is not reachable (${path})`);
  }
  const body = (await response.json().catch(() => undefined)) as (T & { error?: string }) | undefined;
  if (!response.ok || body === undefined) throw new Error(body?.error ?? `${path} answered HTTP ${response.status}`);
  return body;
}

export const api = {
  health: () => getJson<Health>('/api/health'),
  latest: () => getJson<{ asOf: number; prices: LatestPrice[] }>('/api/latest'),
  candles: (symbol: string, interval: string) =>
    getJson<{ candles: Candle[] }>(
      `/api/candles?symbol=${encodeURIComponent(symbol)}&interval=${encodeURIComponent(interval)}&from=${Date.now() - rangeMs(interval)}`,
    ),
  partitions: () =>
    getJson<{ totals: { days: number; files: number; rows: number; bytes: number }; partitions: Partition[] }>('/api/partitions'),
};

/** How far back each interval looks: about 300 candles. */
export function rangeMs(interval: string): number {
  const minutes: Record<string, number> = { '1m': 1, '5m': 5, '15m': 15, '1h': 60, '4h': 240, '1d': 1440 };
  return (minutes[interval] ?? 1) * 60_000 * 300;
}

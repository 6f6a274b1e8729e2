import type { Health } from './health.ts';

/**
 * A key-value cache with expiry (Redis, or the in-memory twin), shared by scraper replicas.
 * - `get` returns `undefined` for a missing or expired key.
 * - `set` replaces the value and its expiry.
 * Callers treat a cache failure as a miss: a cache going away must never stop the pipeline.
 */
export interface Cache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  health(): Promise<Health>;
  close(): Promise<void>;
}

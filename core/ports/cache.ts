import type { Health } from './health.ts';

/**
 * A key-value cache with expiry (Redis, or the in-memory twin), shared by scraper replicas.
 * - `get` returns `undefined` for a missing or expired key.
 * - `set` replaces the value and its expiry.
 * - `setIfAbsent` stores the value only when the key is missing or expired, atomically, and
 *   says whether it did: the primitive of a short lock that only one replica wins.
 * - `increment` adds `by` to the integer at `key` (missing counts as 0) atomically and returns
 *   the new value; the expiry is set when the key is created and never extended by later
 *   increments, so a counter lives for one fixed window (the primitive of a shared rate limit).
 * - `setField` stores `value` under `field` of the map at `key`, replacing that field's value and
 *   expiry; each field expires on its own. `fields` returns the map's fields that have not expired
 *   (`{}` for a map never set): the primitive of a roll call, where every replica writes its own
 *   field and a reader sees each live one.
 * Methods reject with a `CACHE_UNAVAILABLE` `LakeError` when the cache cannot be reached.
 * Callers treat a cache failure as a miss: a cache going away must never stop the pipeline.
 */
export interface Cache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  increment(key: string, by: number, ttlSeconds: number): Promise<number>;
  setField(key: string, field: string, value: string, ttlSeconds: number): Promise<void>;
  fields(key: string): Promise<Record<string, string>>;
  health(): Promise<Health>;
  close(): Promise<void>;
}

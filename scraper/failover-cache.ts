import { messageOf } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { MemoryCache } from '../core/adapters/memory/cache.ts';
import type { Cache } from '../core/ports/cache.ts';
import type { Health } from '../core/ports/health.ts';

/** How the failover cache reports that the shared cache went away or came back. */
export interface FailoverEvents {
  onDown?: (error: unknown) => void;
  onUp?: () => void;
}

/**
 * The scraper's view of the shared cache: every call goes to `remote` (Redis) and, when that
 * fails, to a local in-memory cache instead, for `retryAfterMs` before the remote is tried
 * again. So Redis going away degrades the scraper to a per-process cache, lock and rate limit
 * (each replica then limits itself alone) without a poll ever failing or waiting on Redis more
 * than once per `retryAfterMs`. It never rejects. `close()` closes only the local cache: the
 * remote belongs to whoever opened it.
 */
export class FailoverCache implements Cache {
  private readonly local: MemoryCache;
  private downUntil = 0;

  constructor(
    private readonly remote: Cache,
    private readonly options: { retryAfterMs?: number; now?: () => number; log?: Logger; events?: FailoverEvents } = {},
  ) {
    this.local = new MemoryCache(options.now);
  }

  /** True while calls go to the local cache because the remote failed recently. */
  get degraded(): boolean {
    return this.now() < this.downUntil;
  }

  get(key: string): Promise<string | undefined> {
    return this.run((cache) => cache.get(key));
  }

  set(key: string, value: string, ttlSeconds: number): Promise<void> {
    return this.run((cache) => cache.set(key, value, ttlSeconds));
  }

  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    return this.run((cache) => cache.setIfAbsent(key, value, ttlSeconds));
  }

  increment(key: string, by: number, ttlSeconds: number): Promise<number> {
    return this.run((cache) => cache.increment(key, by, ttlSeconds));
  }

  setField(key: string, field: string, value: string, ttlSeconds: number): Promise<void> {
    return this.run((cache) => cache.setField(key, field, value, ttlSeconds));
  }

  fields(key: string): Promise<Record<string, string>> {
    return this.run((cache) => cache.fields(key));
  }

  async health(): Promise<Health> {
    const remote = await this.remote.health().catch((error: unknown) => ({ ok: false, detail: messageOf(error) }));
    return remote.ok ? remote : { ok: true, detail: `degraded to an in-process cache: ${remote.detail}` };
  }

  async close(): Promise<void> {
    await this.local.close();
  }

  private async run<T>(op: (cache: Cache) => Promise<T>): Promise<T> {
    if (this.degraded) return op(this.local);
    try {
      const value = await op(this.remote);
      if (this.downUntil !== 0) {
        this.downUntil = 0;
        this.options.log?.info({}, 'Shared cache is back; rate limits and cached answers are shared again');
        this.options.events?.onUp?.();
      }
      return value;
    } catch (error) {
      const first = this.downUntil === 0;
      this.downUntil = this.now() + (this.options.retryAfterMs ?? 5_000);
      if (first) {
        this.options.log?.warn({ err: messageOf(error) }, 'Shared cache unreachable; caching and rate limiting in this process alone');
        this.options.events?.onDown?.(error);
      }
      return op(this.local);
    }
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

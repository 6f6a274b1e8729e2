import { Redis } from 'ioredis';
import type { Cache } from '../../ports/cache.ts';
import type { Health } from '../../ports/health.ts';
import { LakeError } from '../../errors.ts';

// INCRBY and the first expiry in one atomic step: a crash between them cannot leave a counter
// that never expires, and later increments keep the window the first one opened.
const INCREMENT_SCRIPT = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value`;

function toMs(ttlSeconds: number): number {
  return Math.max(1, Math.round(ttlSeconds * 1000));
}

/**
 * The cache on Redis, shared by every replica. Commands fail fast while Redis is away (no
 * offline queue), so callers can fall back to no cache instead of waiting.
 */
export class RedisCache implements Cache {
  private readonly redis: Redis;
  private readonly connectWaitMs: number;

  constructor(url: string, options: { keyPrefix?: string; commandTimeoutMs?: number } = {}) {
    this.connectWaitMs = options.commandTimeoutMs ?? 1_000;
    this.redis = new Redis(url, {
      keyPrefix: options.keyPrefix ?? 'cryptolake:',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 1_000,
      lazyConnect: false,
      // Keep reconnecting in the background, at most every 2 s.
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    });
    // Connection errors surface on each command; an unhandled 'error' event would crash the process.
    this.redis.on('error', () => undefined);
  }

  async get(key: string): Promise<string | undefined> {
    try {
      await this.connected();
      return (await this.redis.get(key)) ?? undefined;
    } catch (cause) {
      throw new LakeError('CACHE_UNAVAILABLE', `reading ${key} from Redis`, { cause });
    }
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    try {
      await this.connected();
      await this.redis.set(key, value, 'PX', toMs(ttlSeconds));
    } catch (cause) {
      throw new LakeError('CACHE_UNAVAILABLE', `writing ${key} to Redis`, { cause });
    }
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    try {
      await this.connected();
      return (await this.redis.set(key, value, 'PX', toMs(ttlSeconds), 'NX')) === 'OK';
    } catch (cause) {
      throw new LakeError('CACHE_UNAVAILABLE', `setting ${key} in Redis if absent`, { cause });
    }
  }

  async increment(key: string, by: number, ttlSeconds: number): Promise<number> {
    try {
      await this.connected();
      return Number(await this.redis.eval(INCREMENT_SCRIPT, 1, key, String(by), String(toMs(ttlSeconds))));
    } catch (cause) {
      throw new LakeError('CACHE_UNAVAILABLE', `incrementing ${key} in Redis`, { cause });
    }
  }

  /** Waits briefly for a connection in progress; commands are never queued while Redis is away. */
  private async connected(): Promise<void> {
    if (this.redis.status === 'ready') return;
    if (this.redis.status !== 'connecting' && this.redis.status !== 'connect' && this.redis.status !== 'reconnecting') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.connectWaitMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.redis.once('ready', done);
    });
  }

  async health(): Promise<Health> {
    try {
      await this.redis.ping();
      return { ok: true, detail: `redis ${this.redis.options.host}:${this.redis.options.port}` };
    } catch (error) {
      return { ok: false, detail: `redis unreachable: ${(error as Error).message}` };
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

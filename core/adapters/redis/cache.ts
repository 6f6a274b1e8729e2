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

// Server time in ms, so replicas with skewed clocks agree on what expired.
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// A map whose fields expire on their own: the values in a hash (KEYS[1]), each field's expiry in a
// sorted set (KEYS[2]). A write drops the expired fields and keeps both keys for as long as the
// longest-lived field, so a map nobody writes any more goes away by itself.
const SET_FIELD_SCRIPT = `${NOW_MS}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
if #dead > 0 then
  redis.call('HDEL', KEYS[1], unpack(dead))
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
redis.call('PEXPIREAT', KEYS[2], last[2])
return 1`;

const FIELDS_SCRIPT = `${NOW_MS}
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. now, '+inf')
if #live == 0 then return {} end
local values = redis.call('HMGET', KEYS[1], unpack(live))
local out = {}
for i, field in ipairs(live) do
  if values[i] then
    out[#out + 1] = field
    out[#out + 1] = values[i]
  end
end
return out`;

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

  async setField(key: string, field: string, value: string, ttlSeconds: number): Promise<void> {
    try {
      await this.connected();
      await this.redis.eval(SET_FIELD_SCRIPT, 2, key, `${key}:expiry`, field, value, String(toMs(ttlSeconds)));
    } catch (cause) {
      throw new LakeError('CACHE_UNAVAILABLE', `writing field ${field} of ${key} to Redis`, { cause });
    }
  }

  async fields(key: string): Promise<Record<string, string>> {
    try {
      await this.connected();
      const flat = (await this.redis.eval(FIELDS_SCRIPT, 2, key, `${key}:expiry`)) as string[];
      const live: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) live[flat[i]!] = flat[i + 1]!;
      return live;
    } catch (cause) {
      throw new LakeError('CACHE_UNAVAILABLE', `reading the fields of ${key} from Redis`, { cause });
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

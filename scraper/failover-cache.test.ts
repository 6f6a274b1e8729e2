import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LakeError } from '../core/errors.ts';
import { MemoryCache } from '../core/adapters/memory/cache.ts';
import type { Cache } from '../core/ports/cache.ts';
import { cacheContract } from '../core/ports/cache.contract.ts';
import { FailoverCache } from './failover-cache.ts';

/** A cache that fails every call while `down` is true and counts the calls it got. */
function flaky() {
  const inner = new MemoryCache();
  const state = { down: true, calls: 0 };
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      state.calls++;
      if (state.down) throw new LakeError('CACHE_UNAVAILABLE', 'redis unreachable');
      return fn(...args);
    };
  const cache: Cache = {
    get: guard((k: string) => inner.get(k)),
    set: guard((k: string, v: string, t: number) => inner.set(k, v, t)),
    setIfAbsent: guard((k: string, v: string, t: number) => inner.setIfAbsent(k, v, t)),
    increment: guard((k: string, b: number, t: number) => inner.increment(k, b, t)),
    setField: guard((k: string, f: string, v: string, t: number) => inner.setField(k, f, v, t)),
    fields: guard((k: string) => inner.fields(k)),
    health: async () => ({ ok: !state.down, detail: state.down ? 'down' : 'up' }),
    close: async () => undefined,
  };
  return { cache, state };
}

cacheContract('failover over a healthy memory cache', async () => new FailoverCache(new MemoryCache()));

describe('failover cache', () => {
  it('answers from the process while the shared cache fails, and tries it again after retryAfterMs', async () => {
    let now = 1_000;
    const { cache: remote, state } = flaky();
    const cache = new FailoverCache(remote, { retryAfterMs: 5_000, now: () => now });
    assert.equal(await cache.increment('n', 1, 60), 1);
    assert.equal(await cache.increment('n', 1, 60), 2);
    assert.equal(await cache.setIfAbsent('lock', 'a', 60), true);
    assert.equal(state.calls, 1, 'the remote is not asked again while it is known to be down');
    assert.equal(cache.degraded, true);
    assert.match((await cache.health()).detail, /degraded to an in-process cache/);
    state.down = false;
    now += 5_000;
    assert.equal(await cache.increment('n', 1, 60), 1, 'back on the shared cache');
    assert.equal(cache.degraded, false);
  });
});

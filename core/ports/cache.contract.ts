import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Cache } from './cache.ts';
import { uniqueName } from '../testing/wait.ts';

/** The behaviour every cache must show; run against the in-memory cache and Redis. */
export function cacheContract(name: string, makeCache: () => Promise<Cache>): void {
  describe(`Cache contract: ${name}`, () => {
    let cache: Cache | undefined;
    const open = async () => (cache ??= await makeCache());
    after(async () => cache?.close());

    it('returns what was set', async () => {
      const c = await open();
      const key = uniqueName('contract');
      await c.set(key, '{"price":1}', 60);
      assert.equal(await c.get(key), '{"price":1}');
    });

    it('misses a key never set', async () => {
      const c = await open();
      assert.equal(await c.get(uniqueName('contract')), undefined);
    });

    it('forgets a value after its time to live', async () => {
      const c = await open();
      const key = uniqueName('contract');
      await c.set(key, 'short', 1);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      assert.equal(await c.get(key), undefined);
    });

    it('replaces a value and its expiry', async () => {
      const c = await open();
      const key = uniqueName('contract');
      await c.set(key, 'one', 1);
      await c.set(key, 'two', 60);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      assert.equal(await c.get(key), 'two');
    });
  });
}

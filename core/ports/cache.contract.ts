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

    it('sets a value only when the key is absent, and again once it expired', async () => {
      const c = await open();
      const key = uniqueName('contract');
      assert.equal(await c.setIfAbsent(key, 'first', 1), true);
      assert.equal(await c.setIfAbsent(key, 'second', 60), false);
      assert.equal(await c.get(key), 'first');
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      assert.equal(await c.setIfAbsent(key, 'third', 60), true);
      assert.equal(await c.get(key), 'third');
    });

    it('lets exactly one of many concurrent setIfAbsent calls win', async () => {
      const c = await open();
      const key = uniqueName('contract');
      const wins = await Promise.all(Array.from({ length: 10 }, (_, i) => c.setIfAbsent(key, `v${i}`, 60)));
      assert.equal(wins.filter(Boolean).length, 1);
    });

    it('increments from zero, by any step, and counts every concurrent increment', async () => {
      const c = await open();
      const key = uniqueName('contract');
      assert.equal(await c.increment(key, 2, 60), 2);
      assert.equal(await c.increment(key, -1, 60), 1);
      const results = await Promise.all(Array.from({ length: 20 }, () => c.increment(key, 1, 60)));
      assert.equal(Math.max(...results), 21);
      assert.equal(new Set(results).size, 20);
      assert.equal(await c.get(key), '21');
    });

    it('keeps the expiry of the first increment: a counter lives for one window', async () => {
      const c = await open();
      const key = uniqueName('contract');
      await c.increment(key, 1, 1);
      await new Promise((resolve) => setTimeout(resolve, 600));
      await c.increment(key, 1, 60);
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(await c.increment(key, 5, 60), 5);
    });

    it('keeps one value per field of a map, the newest, and misses a map never set', async () => {
      const c = await open();
      const key = uniqueName('contract');
      assert.deepEqual(await c.fields(key), {});
      await c.setField(key, 'a', 'one', 60);
      await c.setField(key, 'b', 'two', 60);
      await c.setField(key, 'a', 'three', 60);
      assert.deepEqual(await c.fields(key), { a: 'three', b: 'two' });
    });

    it('forgets each field of a map after its own time to live', async () => {
      const c = await open();
      const key = uniqueName('contract');
      await c.setField(key, 'short', 'gone soon', 1);
      await c.setField(key, 'long', 'stays', 60);
      assert.deepEqual(await c.fields(key), { short: 'gone soon', long: 'stays' });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      assert.deepEqual(await c.fields(key), { long: 'stays' });
      await c.setField(key, 'short', 'back', 60);
      assert.deepEqual(await c.fields(key), { short: 'back', long: 'stays' });
    });

    it('keeps every field of many concurrent writers', async () => {
      const c = await open();
      const key = uniqueName('contract');
      await Promise.all(Array.from({ length: 20 }, (_, i) => c.setField(key, `replica-${i}`, String(i), 60)));
      const fields = await c.fields(key);
      assert.equal(Object.keys(fields).length, 20);
      assert.equal(fields['replica-7'], '7');
    });
  });
}

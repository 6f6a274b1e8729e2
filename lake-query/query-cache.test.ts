import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueryCache, STALE_FACTOR } from './query-cache.ts';

/** A load that answers `answers` in turn, counting its calls; `release()` lets a held call finish. */
function loader(...answers: string[]) {
  let calls = 0;
  let release: () => void = () => undefined;
  let hold = false;
  const load = async () => {
    const answer = answers[Math.min(calls, answers.length - 1)]!;
    calls += 1;
    if (hold) await new Promise<void>((resolve) => (release = resolve));
    if (answer === 'fail') throw new Error('the lake failed');
    return answer;
  };
  return {
    load,
    calls: () => calls,
    holdNext: () => (hold = true),
    release: () => {
      hold = false;
      release();
    },
  };
}

describe('QueryCache', () => {
  it('answers a repeated question from the cache within its ttl, with one query for concurrent asks', async () => {
    let now = 0;
    const cache = new QueryCache(1_000, 10, () => now);
    const source = loader('a', 'b');
    assert.deepEqual(await Promise.all([cache.get('k', source.load), cache.get('k', source.load)]), ['a', 'a']);
    now = 999;
    assert.equal(await cache.get('k', source.load), 'a');
    assert.equal(source.calls(), 1);
  });

  it('gives the last answer at once past its ttl while one query fetches the next, then the next', async () => {
    let now = 0;
    const cache = new QueryCache(1_000, 10, () => now);
    const source = loader('a', 'b');
    await cache.get('k', source.load);
    now = 1_500;
    source.holdNext();
    assert.equal(await cache.get('k', source.load), 'a', 'stale, not waiting for the lake');
    assert.equal(await cache.get('k', source.load), 'a');
    assert.equal(source.calls(), 2, 'one refresh for both asks');
    source.release();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await cache.get('k', source.load), 'b');
    assert.equal(cache.stale, 2);
  });

  it('waits for a fresh answer once the last one is too old to give', async () => {
    let now = 0;
    const cache = new QueryCache(1_000, 10, () => now);
    const source = loader('a', 'b');
    await cache.get('k', source.load);
    now = 1_000 * STALE_FACTOR;
    assert.equal(await cache.get('k', source.load), 'b');
  });

  it('keeps the last good answer when a refresh fails, and reports a failure no answer covers', async () => {
    let now = 0;
    const cache = new QueryCache(1_000, 10, () => now);
    const source = loader('a', 'fail');
    await cache.get('k', source.load);
    now = 2_000;
    assert.equal(await cache.get('k', source.load), 'a');
    await new Promise((resolve) => setImmediate(resolve));
    now = 1_000 * STALE_FACTOR + 1;
    await assert.rejects(cache.get('k', source.load), /the lake failed/);
  });

  it('holds at most maxEntries keys and asks the lake every time when the ttl is 0', async () => {
    const cache = new QueryCache(1_000, 2, () => 0);
    const source = loader('a');
    for (const key of ['x', 'y', 'z']) await cache.get(key, source.load);
    await cache.get('x', source.load);
    assert.equal(source.calls(), 4, 'x was evicted');
    const off = new QueryCache(0);
    await off.get('k', source.load);
    await off.get('k', source.load);
    assert.equal(source.calls(), 6);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCache } from '../core/adapters/memory/cache.ts';
import { RateLimiter } from './rate-limiter.ts';

describe('rate limiter', () => {
  it('lets replicas sharing one cache take exactly the budget between them, however they race', async () => {
    const now = () => 1_760_000_000_000;
    const cache = new MemoryCache(now);
    const replicas = [0, 1, 2].map(() => new RateLimiter('p', cache, { limit: 5, windowMs: 60_000 }, now));
    const decisions = await Promise.all(Array.from({ length: 12 }, (_, i) => replicas[i % 3]!.take(1, 0)));
    assert.equal(decisions.filter((d) => d.granted).length, 5);
    assert.equal(await cache.get(`scraper:ratelimit:p:${Math.floor(now() / 60_000)}`), '5', 'denied calls gave their cost back');
  });

  it('denies a call costing more than the whole budget instead of waiting forever', async () => {
    const limiter = new RateLimiter('p', new MemoryCache(), { limit: 1, windowMs: 60_000 });
    const decision = await limiter.take(2, 1_000_000);
    assert.equal(decision.granted, false);
    assert.match(!decision.granted ? decision.reason : '', /costs 2, more than the whole budget of 1/);
  });
});

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCache } from '../core/adapters/memory/cache.ts';
import { MemoryBus } from '../core/adapters/memory/bus.ts';
import { startFakeProvider } from './testing/fake-provider.ts';
import { bodies } from './testing/bodies.ts';
import { guardedScraper, testClock } from './testing/harness.ts';
import { CoinGeckoProvider } from './providers/coingecko.ts';

describe('answers shared between scrapers', async () => {
  const server = await startFakeProvider({ '/api/v3/coins/markets': { delayMs: 30, body: bodies.coingecko(['BTC', 'ETH']) } });
  after(() => server.close());

  function replicas(count: number, cacheTtlMs: number) {
    const clock = testClock();
    const cache = new MemoryCache(clock.now);
    const bus = new MemoryBus();
    const topics = { prices: 'prices', deadLetters: 'dead' };
    return Array.from({ length: count }, (_, i) =>
      guardedScraper({
        // Different keys: the key is sent in a header and is no part of what is shared.
        providers: [new CoinGeckoProvider({ baseUrl: server.baseUrl, timeoutMs: 1000, apiKey: `key-${i}` })],
        settings: { cacheTtlMs },
        cache,
        bus,
        clock,
        topics,
        instance: `replica-${i}`,
      }),
    );
  }

  it('makes one upstream call when three scrapers poll at the same moment, and every one publishes', async () => {
    server.requests.length = 0;
    const group = replicas(3, 10_000);
    await Promise.all(group.map((h) => h.scraper.pollOnce()));
    assert.equal(server.requests.length, 1);
    assert.equal((await group[0]!.prices()).length, 6);
    assert.deepEqual(group.map((h) => h.scraper.status().providers[0]!.cacheHits).sort(), [0, 1, 1]);
    group[0]!.clock.advance(10_000);
    await Promise.all(group.map((h) => h.scraper.pollOnce()));
    assert.equal(server.requests.length, 2, 'the answer expired before the next poll');
  });

  it('asks upstream from every scraper when sharing is off', async () => {
    server.requests.length = 0;
    const group = replicas(3, 0);
    await Promise.all(group.map((h) => h.scraper.pollOnce()));
    assert.equal(server.requests.length, 3);
  });
});

import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { MemoryBus } from '../../core/adapters/memory/bus.ts';
import { RedisCache } from '../../core/adapters/redis/cache.ts';
import { uniqueName } from '../../core/testing/wait.ts';
import { startFakeProvider, type FakeProvider } from '../../scraper/testing/fake-provider.ts';
import { bodies } from '../../scraper/testing/bodies.ts';
import { guardedScraper, type TestClock } from '../../scraper/testing/harness.ts';
import { CoinGeckoProvider } from '../../scraper/providers/coingecko.ts';
import { BinanceProvider } from '../../scraper/providers/binance.ts';
import { stack } from '../support/stack.ts';

const realClock: TestClock = {
  now: Date.now,
  advance: () => undefined,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
const GECKO = '/api/v3/coins/markets';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('scraper replicas on one Redis', () => {
  let server: FakeProvider;
  const caches: RedisCache[] = [];
  before(async () => {
    server = await startFakeProvider({ [GECKO]: { delayMs: 20, body: bodies.coingecko(['BTC', 'ETH']) } });
  });
  after(async () => {
    await server.close();
    await Promise.all(caches.map((cache) => cache.close()));
  });

  it('makes one upstream call per poll interval when three replicas poll the same provider, not three', async () => {
    const env = await stack();
    const keyPrefix = `${uniqueName('scraper-replicas')}:`;
    const pollIntervalMs = 400;
    const bus = new MemoryBus();
    const topics = { prices: uniqueName('prices'), deadLetters: uniqueName('dead') };
    const replicas = [0, 1, 2].map((i) => {
      const cache = new RedisCache(env.REDIS_URL, { keyPrefix });
      caches.push(cache);
      return guardedScraper({
        // A generous timeout: on a busy machine a poll must not fail for slowness (that is another test).
        providers: [new CoinGeckoProvider({ baseUrl: server.baseUrl, timeoutMs: 10_000 })],
        settings: { cacheTtlMs: pollIntervalMs, rateLimits: { coingecko: { limit: 30, windowMs: 60_000 } } },
        cache,
        bus,
        clock: realClock,
        pollIntervalMs,
        topics,
        instance: `replica-${i}`,
      });
    });
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      // Start each round 50 ms into an interval, so the replicas' few ms apart never straddle two.
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs - ((Date.now() - 50) % pollIntervalMs)));
      // Nearly the same moment: each replica starts a few ms after the previous one.
      await Promise.all(replicas.map((h, i) => new Promise((resolve) => setTimeout(resolve, i * 5)).then(() => h.scraper.pollOnce())));
    }
    assert.equal(server.requests.filter((r) => r.path === GECKO).length, rounds);
    assert.equal((await replicas[0]!.prices()).length, rounds * 3 * 2, 'every replica published every symbol every poll');
    const hits = replicas.reduce((sum, h) => sum + h.scraper.status().providers[0]!.cacheHits, 0);
    assert.equal(hits, rounds * 2);
  });

  it('keeps polling on a process-local cache and limit when Redis is not there', async () => {
    const port = await freePort();
    const cache = new RedisCache(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 200 });
    caches.push(cache);
    const fake = await startFakeProvider({ '/api/v3/ticker/24hr': { body: bodies.binance(['BTC', 'ETH']) } });
    try {
      const h = guardedScraper({
        providers: [new BinanceProvider({ baseUrl: fake.baseUrl, timeoutMs: 1000 })],
        settings: { cacheTtlMs: 900, rateLimits: { binance: { limit: 3, windowMs: 60_000 } } },
        cache,
        clock: realClock,
        pollIntervalMs: 1000,
      });
      const started = Date.now();
      const first = await h.scraper.pollOnce();
      const second = await h.scraper.pollOnce();
      assert.deepEqual([first.published, second.published], [2, 2]);
      assert.equal(fake.requests.length, 1, 'the second poll was served from the in-process cache');
      assert.ok(Date.now() - started < 3_000, `polls took ${Date.now() - started} ms`);
      assert.equal((await h.prices()).length, 4);
    } finally {
      await fake.close();
    }
  });
});

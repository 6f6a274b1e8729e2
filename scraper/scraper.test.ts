import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../core/adapters/memory/bus.ts';
import { MemoryCache } from '../core/adapters/memory/cache.ts';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import type { PriceProvider } from '../core/ports/provider.ts';
import { DeadLetter } from '../core/records/dead-letter.ts';
import { PriceRecord } from '../core/records/price.ts';
import { StatusBoard } from '../core/status-board.ts';
import { uniqueName } from '../core/testing/wait.ts';
import { SyntheticProvider } from './providers/synthetic.ts';
import { readMessages as messages } from './testing/harness.ts';
import { createScraper, type ScraperDeps } from './scraper.ts';

const NOW = 1_760_000_000_000;

function setup(providers: PriceProvider[], overrides: Partial<ScraperDeps> = {}) {
  const bus = new MemoryBus();
  const cache = new MemoryCache();
  const metrics = new Metrics();
  const config = { symbols: ['BTC', 'ETH'], pollIntervalMs: 1000, kafkaTopic: uniqueName('prices'), deadLetterTopic: uniqueName('dead') };
  const scraper = createScraper({
    bus,
    cache,
    providers,
    config,
    log: silentLogger,
    metrics,
    now: () => NOW,
    instance: 'test',
    ...overrides,
  });
  return { bus, cache, metrics, config, scraper };
}

describe('scraper', () => {
  it('publishes valid records to the prices topic keyed by symbol and reports its status', async () => {
    const { bus, cache, metrics, config, scraper } = setup([new SyntheticProvider({ seed: 3, now: () => NOW })]);
    const summary = await scraper.pollOnce();
    assert.deepEqual(summary, { published: 2, deadLettered: 0, unserved: [], exhausted: false });
    const published = await messages(bus, config.kafkaTopic);
    assert.deepEqual(published.map((m) => m.key).sort(), ['BTC', 'ETH']);
    for (const message of published) {
      const record = PriceRecord.parse(JSON.parse(message.value));
      assert.equal(record.symbol, message.key);
      assert.equal(record.ingested_at, NOW);
    }
    const status = await new StatusBoard(cache).read('scraper');
    assert.equal(status?.synthetic, true);
    assert.equal(status?.published, 2);
    assert.equal(status?.providers[0]?.recordsServed, 2);
    assert.match(await metrics.text(), /scraper_provider_requests_total\{provider="synthetic",outcome="ok"\} 1/);
  });

  it('dead-letters an invalid observation with its reason and never publishes it', async () => {
    const broken: PriceProvider = {
      name: 'broken',
      kind: 'live',
      async fetch() {
        return {
          observations: [
            { source: 'broken', symbol: 'BTC', ts: NOW, price_usd: 0 },
            { source: 'broken', symbol: 'ETH', ts: NOW, price_usd: Number.NaN },
          ],
          rejects: [{ payload: { id: 'x' }, reason: 'current_price: null' }],
        };
      },
    };
    const { bus, config, scraper } = setup([broken]);
    const summary = await scraper.pollOnce();
    assert.equal(summary.published, 0);
    assert.equal(summary.deadLettered, 3);
    assert.deepEqual(await messages(bus, config.kafkaTopic), []);
    const letters = (await messages(bus, config.deadLetterTopic)).map((m) => DeadLetter.parse(JSON.parse(m.value)));
    assert.deepEqual(
      letters.map((l) => [l.stage, l.source]),
      [
        ['scraper', 'broken'],
        ['scraper', 'broken'],
        ['scraper', 'broken'],
      ],
    );
    assert.match(letters.find((l) => l.payload.includes('"BTC"'))!.reason, /price_usd: Too small/);
    assert.ok(letters.some((l) => l.reason === 'current_price: null'));
    assert.deepEqual(scraper.status().unserved, ['BTC', 'ETH']);
  });

  it('polls on start and waits for the poll in flight on stop', async () => {
    let release = () => {};
    let calls = 0;
    const slow: PriceProvider = {
      name: 'slow',
      kind: 'live',
      fetch: (symbols) =>
        new Promise((resolve) => {
          calls++;
          release = () =>
            resolve({ observations: symbols.map((symbol) => ({ source: 'slow', symbol, ts: NOW, price_usd: 1 })), rejects: [] });
        }),
    };
    const { bus, config, scraper } = setup([slow]);
    scraper.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(calls, 1);
    const stopped = scraper.stop();
    release();
    await stopped;
    assert.equal((await messages(bus, config.kafkaTopic)).length, 2);
    assert.equal(scraper.status().polls, 1);
  });
});

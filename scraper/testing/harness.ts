import { MemoryBus } from '../../core/adapters/memory/bus.ts';
import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import type { Bus } from '../../core/ports/bus.ts';
import type { Cache } from '../../core/ports/cache.ts';
import type { PriceProvider } from '../../core/ports/provider.ts';
import { DeadLetter } from '../../core/records/dead-letter.ts';
import { PriceRecord } from '../../core/records/price.ts';
import { uniqueName } from '../../core/testing/wait.ts';
import { FailoverCache } from '../failover-cache.ts';
import { createProviderGuard, type GuardSettings, type ProviderGuard } from '../guarded-call.ts';
import { createScraper, type Scraper } from '../scraper.ts';

/** A clock tests move by hand; `sleep` moves it instead of waiting. */
export interface TestClock {
  now: () => number;
  advance(ms: number): void;
  sleep: (ms: number) => Promise<void>;
}

/** A hand-moved clock starting at `start`. */
export function testClock(start = 1_760_000_000_000): TestClock {
  let at = start;
  return {
    now: () => at,
    advance: (ms) => {
      at += ms;
    },
    sleep: async (ms) => {
      at += ms;
    },
  };
}

/** Guard settings for tests: generous limits, quick retries, a short circuit. */
export function testGuardSettings(overrides: Partial<GuardSettings> = {}): GuardSettings {
  return {
    rateLimits: {},
    circuit: { failureThreshold: 3, cooldownMs: 30_000 },
    retry: { retries: 2, minDelayMs: 1, maxDelayMs: 5 },
    cacheTtlMs: 0,
    cacheLockWaitMs: 500,
    rateLimitedPauseMs: 60_000,
    bannedPauseMs: 120_000,
    unlistedTtlMs: 3_600_000,
    ...overrides,
  };
}

/** A scraper wired as `start.ts` wires it, on a MemoryBus, with what a test needs to look at. */
export interface GuardedScraper {
  scraper: Scraper;
  guard: ProviderGuard;
  bus: Bus;
  cache: Cache;
  metrics: Metrics;
  clock: TestClock;
  topics: { prices: string; deadLetters: string };
  /** Every record published to the prices topic so far, parsed (and so checked) against the schema. */
  prices(): Promise<PriceRecord[]>;
  /** Every dead letter published so far, parsed against the schema. */
  deadLetters(): Promise<DeadLetter[]>;
}

/** Builds a guarded scraper; `cache` defaults to a MemoryCache on the test clock. */
export function guardedScraper(options: {
  providers: PriceProvider[];
  symbols?: string[];
  settings?: Partial<GuardSettings>;
  cache?: Cache;
  bus?: MemoryBus;
  clock?: TestClock;
  pollIntervalMs?: number;
  instance?: string;
  topics?: { prices: string; deadLetters: string };
}): GuardedScraper {
  const clock = options.clock ?? testClock();
  const bus = options.bus ?? new MemoryBus();
  const metrics = new Metrics();
  const cache = new FailoverCache(options.cache ?? new MemoryCache(clock.now), { now: clock.now });
  const guard = createProviderGuard({
    cache,
    settings: testGuardSettings(options.settings),
    metrics,
    log: silentLogger,
    now: clock.now,
    sleep: clock.sleep,
  });
  const topics = options.topics ?? { prices: uniqueName('prices'), deadLetters: uniqueName('dead') };
  const scraper = createScraper({
    bus,
    cache,
    providers: options.providers,
    config: {
      symbols: options.symbols ?? ['BTC', 'ETH'],
      pollIntervalMs: options.pollIntervalMs ?? 10_000,
      kafkaTopic: topics.prices,
      deadLetterTopic: topics.deadLetters,
    },
    log: silentLogger,
    metrics,
    now: clock.now,
    call: guard.call,
    instance: options.instance ?? 'test',
  });
  return {
    scraper,
    guard,
    bus,
    cache,
    metrics,
    clock,
    topics,
    prices: async () => (await read(bus, topics.prices)).map((value) => PriceRecord.parse(JSON.parse(value))),
    deadLetters: async () => (await read(bus, topics.deadLetters)).map((value) => DeadLetter.parse(JSON.parse(value))),
  };
}

/** A message read back from the bus, its value decoded. */
export interface ReadMessage {
  key: string;
  value: string;
  partition: number;
  offset: number;
}

/** Every message on `topic` (as far as its end offsets when called), read by a fresh consumer group. */
export async function readMessages(bus: Bus, topic: string): Promise<ReadMessage[]> {
  const ends = await bus.endOffsets(topic);
  const total = [...ends.values()].reduce((a, b) => a + b, 0);
  const seen: ReadMessage[] = [];
  if (total === 0) return seen;
  let done = () => undefined as void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const decoder = new TextDecoder();
  const consumer = await bus.consume({
    topics: [topic],
    group: uniqueName('reader'),
    async onBatch(batch) {
      for (const { key, value, partition, offset } of batch.messages) seen.push({ key, value: decoder.decode(value), partition, offset });
      if (seen.length >= total) done();
    },
  });
  await all;
  await consumer.close();
  return seen;
}

/** The values of every message on `topic`, read by a fresh consumer group. */
export async function read(bus: Bus, topic: string): Promise<string[]> {
  return (await readMessages(bus, topic)).map((message) => message.value);
}

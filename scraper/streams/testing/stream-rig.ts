import assert from 'node:assert/strict';
import { after } from 'node:test';
import { MemoryBus } from '../../../core/adapters/memory/bus.ts';
import { MemoryCache } from '../../../core/adapters/memory/cache.ts';
import { silentLogger } from '../../../core/log.ts';
import { Metrics } from '../../../core/metrics.ts';
import { DeadLetter } from '../../../core/records/dead-letter.ts';
import { Gap } from '../../../core/records/gap.ts';
import { Trade } from '../../../core/records/trade.ts';
import { loadScraperConfig } from '../../config.ts';
import { loadStreamsConfig } from '../config.ts';
import { startStreams, type Streams } from '../start.ts';
import { startFakeVenue, type FakeVenue, type FakeVenueName, type FakeVenueOptions } from '../venues/fake-venue.ts';
import { fakeVenueEnv } from '../venues/fake-venue-env.ts';
import { follow } from './follow.ts';
import { QUICK_STREAM_ENV, TEST_MARKETS } from './quick-streams.ts';

/** Waits `ms` (only between steps a test drives, never to wait for an outcome). */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 20 ms until it holds, or fails naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Fake venues, a memory bus and cache, stream readers on them, and what reached the bus. */
export interface Rig {
  bus: MemoryBus;
  cache: MemoryCache;
  venues: Map<FakeVenueName, FakeVenue>;
  /** The reader started with the rig. */
  streams: Streams;
  /** Every reader started and not stopped yet, the first included. */
  readers: Streams[];
  /** Starts one more reader on the same venues, bus and cache (another replica, or a restart). */
  start(env?: Record<string, string>): Promise<Streams>;
  /** Stops a reader (refills or records its holes, then drains) and forgets it. */
  stop(reader: Streams): Promise<void>;
  trades: Trade[];
  gaps: Gap[];
  deadLetters: DeadLetter[];
}

/**
 * Starts the fake venues given, follows the `trades`, `gaps` and dead-letter topics of a memory bus,
 * and starts a reader on them with the quick test settings (`env` on top). `gate`, while it returns
 * a promise, holds publishes to `trades` (a slow bus). Everything stops when the test file ends.
 */
export async function rig(
  fakes: Partial<Record<FakeVenueName, FakeVenueOptions>>,
  env: Record<string, string> = {},
  gate: () => Promise<void> | undefined = () => undefined,
): Promise<Rig> {
  const bus = new MemoryBus({ partitions: 3 });
  const cache = new MemoryCache();
  const slowBus = {
    publish: async (topic: string, messages: { key: string; value: string }[]) => {
      if (topic === 'trades') await gate();
      return bus.publish(topic, messages);
    },
  };
  const venues = new Map<FakeVenueName, FakeVenue>();
  for (const [name, options] of Object.entries(fakes) as [FakeVenueName, FakeVenueOptions][]) {
    const venue = await startFakeVenue(options);
    venues.set(name, venue);
    after(() => venue.close());
  }
  const trades = await follow(bus, 'trades', (value) => Trade.parse(value));
  const gaps = await follow(bus, 'gaps', (value) => Gap.parse(value));
  const deadLetters = await follow(bus, 'prices.dead-letter', (value) => DeadLetter.parse(value));
  const readers: Streams[] = [];
  let stopped = 0;
  const start = async (more: Record<string, string> = {}) => {
    const settings = { ...QUICK_STREAM_ENV, ...fakeVenueEnv(venues.values()), ...env, ...more };
    const streams = await startStreams(
      { bus: slowBus as unknown as MemoryBus, cache },
      loadStreamsConfig(settings),
      loadScraperConfig(settings),
      silentLogger,
      new Metrics(),
      `reader-${readers.length + stopped}`,
    );
    assert.ok(streams);
    readers.push(streams);
    after(() => (readers.includes(streams) ? streams.stop() : undefined));
    return streams;
  };
  const streams = await start();
  const stop = async (reader: Streams) => {
    readers.splice(readers.indexOf(reader), 1);
    stopped += 1;
    await reader.stop();
  };
  return { bus, cache, venues, streams, readers, start, stop, trades, gaps, deadLetters };
}

/** True when `streams` reports `venue` connected. */
export function connected(streams: Streams, venue: string): boolean {
  return streams.status().venues.find((status) => status.venue === venue)?.connected ?? false;
}

/**
 * Stops trading, closes every hole (a trade after it), then waits until each running reader has
 * refilled or recorded its holes and everything is on the bus.
 */
export async function settle(setup: Rig): Promise<void> {
  for (const [name, venue] of setup.venues) {
    venue.setRate(0);
    for (const reader of setup.readers) await until(`${name} connected`, () => connected(reader, name));
    await sleep(100);
    for (const market of TEST_MARKETS[name]) venue.emit(market, 1);
  }
  // Each market's last trade is on the bus: every hole before it is known.
  for (const [name, venue] of setup.venues) {
    for (const market of TEST_MARKETS[name]) {
      const last = venue.trades(market).at(-1)!.tradeId;
      await until(`${name} ${market} #${last} published`, () =>
        setup.trades.some((trade) => trade.venue === name && trade.market === market && trade.trade_id === last),
      );
    }
  }
  // The reorder window (300 ms) and the refill timer's next tick hand the holes over; then wait for them.
  await sleep(600);
  for (const reader of setup.readers) await reader.settled();
  await sleep(100);
}

/**
 * Per venue and market, from the first trade published on: every trade the venue made is on the bus
 * (once, unless `repeats` allows replicas' copies, which the lake keeps once) or inside a gap, and
 * nothing on the bus was made up.
 */
export function check(setup: Rig, options: { repeats?: boolean } = {}): void {
  for (const [name, venue] of setup.venues) {
    for (const market of TEST_MARKETS[name]) {
      const published = setup.trades.filter((trade) => trade.venue === name && trade.market === market).map((trade) => trade.trade_id);
      // A stream starts with the first trade it sees: what the venue made before is not its business.
      const start = Math.min(...published);
      const truth = venue
        .trades(market)
        .map((trade) => trade.tradeId)
        .filter((id) => id >= start);
      if (!options.repeats) assert.equal(new Set(published).size, published.length, `${name} ${market}: a trade was published twice`);
      const inGaps = new Set<number>();
      for (const gap of setup.gaps.filter((gap) => gap.venue === name && gap.market === market)) {
        for (let id = gap.first_trade_id; id <= gap.last_trade_id; id += 1) inGaps.add(id);
      }
      const got = new Set(published);
      const lost = truth.filter((id) => !got.has(id) && !inGaps.has(id));
      assert.deepEqual(lost.slice(0, 10), [], `${name} ${market}: ${lost.length} trades neither published nor recorded as a gap`);
      const known = new Set(truth);
      const madeUp = published.filter((id) => !known.has(id));
      assert.deepEqual(madeUp, [], `${name} ${market}: trades the venue never made`);
    }
  }
}

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { MemoryBus } from '../../core/adapters/memory/bus.ts';
import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { Gap } from '../../core/records/gap.ts';
import { DeadLetter } from '../../core/records/dead-letter.ts';
import { Trade } from '../../core/records/trade.ts';
import { loadScraperConfig } from '../config.ts';
import { loadStreamsConfig } from './config.ts';
import { startStreams, type Streams } from './start.ts';
import { startFakeVenue, type FakeVenue, type FakeVenueName } from './testing/fake-venue.ts';
import { fakeVenueEnv, QUICK_STREAM_ENV, TEST_MARKETS } from './testing/fake-venue-env.ts';

const VENUE_NAMES = Object.keys(TEST_MARKETS) as FakeVenueName[];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Everything published on a topic of the memory bus, parsed. */
async function follow<T>(bus: MemoryBus, topic: string, parse: (value: unknown) => T): Promise<T[]> {
  const seen: T[] = [];
  const decoder = new TextDecoder();
  const consumer = await bus.consume({
    topics: [topic],
    group: `test-${topic}`,
    async onBatch(batch) {
      for (const message of batch.messages) seen.push(parse(JSON.parse(decoder.decode(message.value))));
      await consumer.commit([{ topic, partition: batch.partition, nextOffset: batch.messages.at(-1)!.offset + 1 }]);
    },
  });
  after(() => consumer.close());
  return seen;
}

interface Rig {
  bus: MemoryBus;
  venues: Map<FakeVenueName, FakeVenue>;
  streams: Streams;
  trades: Trade[];
  gaps: Gap[];
  deadLetters: DeadLetter[];
}

async function rig(
  fakes: Partial<Record<FakeVenueName, Parameters<typeof startFakeVenue>[0]>>,
  env: Record<string, string> = {},
  /** While it returns a promise, publishes to the trades topic wait for it (a slow bus). */
  gate: () => Promise<void> | undefined = () => undefined,
): Promise<Rig> {
  const bus = new MemoryBus({ partitions: 3 });
  const slowBus = {
    publish: async (topic: string, messages: { key: string; value: string }[]) => {
      if (topic === 'trades') await gate();
      return bus.publish(topic, messages);
    },
  };
  const venues = new Map<FakeVenueName, FakeVenue>();
  for (const [name, options] of Object.entries(fakes) as [FakeVenueName, Parameters<typeof startFakeVenue>[0]][]) {
    const venue = await startFakeVenue(options);
    venues.set(name, venue);
    after(() => venue.close());
  }
  const settings = { ...QUICK_STREAM_ENV, ...fakeVenueEnv(venues.values()), ...env };
  const trades = await follow(bus, 'trades', (value) => Trade.parse(value));
  const gaps = await follow(bus, 'gaps', (value) => Gap.parse(value));
  const deadLetters = await follow(bus, 'prices.dead-letter', (value) => DeadLetter.parse(value));
  const streams = startStreams(
    { bus: slowBus as unknown as MemoryBus, cache: new MemoryCache() },
    loadStreamsConfig(settings),
    loadScraperConfig(settings),
    silentLogger,
    new Metrics(),
  );
  assert.ok(streams);
  after(() => streams.stop());
  return { bus, venues, streams, trades, gaps, deadLetters };
}

function connected(streams: Streams, venue: string): boolean {
  return streams.status().venues.find((status) => status.venue === venue)?.connected ?? false;
}

/** Closes every hole (a trade after it), then waits until each was refilled or recorded and everything is on the bus. */
async function settle(setup: Rig): Promise<void> {
  for (const [name, venue] of setup.venues) {
    venue.setRate(0);
    await until(`${name} connected`, () => connected(setup.streams, name));
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
  await setup.streams.settled();
  await sleep(100);
}

/** Per venue and market: the ids in the lake-bound topic and in gaps, against the venue's truth. */
function check(setup: Rig): void {
  for (const [name, venue] of setup.venues) {
    for (const market of TEST_MARKETS[name]) {
      const published = setup.trades.filter((trade) => trade.venue === name && trade.market === market).map((trade) => trade.trade_id);
      // A stream starts with the first trade it sees: what the venue made before is not its business.
      const start = Math.min(...published);
      const truth = venue
        .trades(market)
        .map((trade) => trade.tradeId)
        .filter((id) => id >= start);
      assert.equal(new Set(published).size, published.length, `${name} ${market}: a trade was published twice`);
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

test('every venue: trades arrive once despite duplicates and reordering, with tickers as prices', async () => {
  const fakes = Object.fromEntries(
    VENUE_NAMES.map((venue, index) => [
      venue,
      { venue, markets: TEST_MARKETS[venue], tradesPerSecond: 300, duplicateRate: 0.02, reorderRate: 0.02, seed: index + 1 },
    ]),
  );
  const setup = await rig(fakes);
  await until('trades from every venue', () => VENUE_NAMES.every((venue) => setup.trades.some((trade) => trade.venue === venue)));
  await sleep(1_500);
  await settle(setup);
  check(setup);
  assert.deepEqual(setup.gaps, []);
  const status = setup.streams.status();
  for (const venue of status.venues) assert.ok(venue.duplicatesDropped > 0, `${venue.venue} dropped no duplicate`);
  assert.ok(setup.trades.every((trade) => trade.via === 'stream'));
});

test('killed and silent connections, skipped and burned ids: REST refills what it has, the rest becomes gaps', async () => {
  const fakes = Object.fromEntries(
    VENUE_NAMES.map((venue, index) => [venue, { venue, markets: TEST_MARKETS[venue], tradesPerSecond: 200, seed: 10 + index }]),
  );
  const setup = await rig(fakes);
  await until('trades from every venue', () => VENUE_NAMES.every((venue) => setup.trades.some((trade) => trade.venue === venue)));
  for (let round = 0; round < 3; round += 1) {
    await sleep(400);
    for (const venue of setup.venues.values()) venue.killConnections();
  }
  // Reconnected after the third kill: a fourth connection is open (the old socket may still look open for a moment).
  for (const name of setup.venues.keys()) {
    await until(`${name} reconnected`, () => {
      const status = setup.streams.status().venues.find((venue) => venue.venue === name);
      return status !== undefined && status.connected && status.connections >= 4 && setup.venues.get(name)!.stats().openConnections === 1;
    });
  }
  await sleep(100);
  for (const [name, venue] of setup.venues) {
    venue.skipStream(TEST_MARKETS[name][0]!, 25);
    venue.skipForever(TEST_MARKETS[name][1]!, 7);
    venue.sendMalformed('not-json');
    venue.sendMalformed('wrong-shape');
  }
  await sleep(500);
  const silent = setup.venues.get('binance')!;
  silent.goSilent();
  await sleep(2_000);
  silent.heal();
  await settle(setup);
  check(setup);

  for (const [name] of setup.venues) {
    const venueGaps = setup.gaps.filter((gap) => gap.venue === name);
    const burned = venueGaps.filter((gap) => gap.market === TEST_MARKETS[name][1]).reduce((sum, gap) => sum + gap.missing, 0);
    assert.equal(burned, 7, `${name}: the 7 burned ids are recorded as gaps`);
    assert.ok(
      venueGaps.every((gap) => gap.market === TEST_MARKETS[name][1]),
      `${name}: only the burned ids are gaps: ${JSON.stringify(venueGaps)}`,
    );
    assert.ok(
      setup.trades.some((trade) => trade.venue === name && trade.via === 'rest'),
      `${name}: nothing was refilled`,
    );
  }
  const status = setup.streams.status();
  for (const venue of status.venues) {
    assert.ok(venue.connections >= 4, `${venue.venue} reconnected after each kill (${venue.connections} connections)`);
    assert.ok(venue.malformedFrames >= 2, `${venue.venue} counted the malformed frames`);
  }
  assert.ok(setup.deadLetters.length >= 6, 'malformed frames are dead-lettered with their text');
});

test('a hole older than the REST history is recorded as a gap saying so', async () => {
  const setup = await rig({ coinbase: { venue: 'coinbase', markets: TEST_MARKETS.coinbase, tradesPerSecond: 0, historyLimit: 10 } });
  const venue = setup.venues.get('coinbase')!;
  await until('connected', () => connected(setup.streams, 'coinbase'));
  await sleep(200);
  venue.emit('BTC-USD', 1);
  venue.emit('ETH-USD', 1);
  await until('first trades', () => setup.trades.length === 2);
  venue.skipStream('BTC-USD', 50);
  venue.emit('BTC-USD', 51);
  await sleep(600);
  await setup.streams.settled();
  check(setup);
  const [gap] = setup.gaps;
  assert.ok(gap, 'a gap was recorded');
  assert.equal(gap.cause, 'sequence');
  assert.equal(gap.missing, 41, 'the 9 newest skipped trades came back from REST, the 41 older did not');
  assert.match(gap.reason, /did not return/);
});

test('a connection is replaced before its age limit with no hole: the new one opens before the old one closes', async () => {
  const fakes = Object.fromEntries(
    VENUE_NAMES.map((venue, index) => [venue, { venue, markets: TEST_MARKETS[venue], tradesPerSecond: 300, seed: 20 + index }]),
  );
  // A long idle timeout: on a busy machine a late pong must not pass for a dead connection here.
  const setup = await rig(fakes, { STREAM_MAX_CONNECTION_AGE_MS: '700', STREAM_PING_INTERVAL_MS: '100', STREAM_IDLE_TIMEOUT_MS: '10000' });
  await until('trades from every venue', () => VENUE_NAMES.every((venue) => setup.trades.some((trade) => trade.venue === venue)));
  await sleep(3_000);
  await settle(setup);
  check(setup);
  assert.deepEqual(setup.gaps, []);
  for (const venue of setup.streams.status().venues) {
    assert.ok(venue.connections >= 3, `${venue.venue} rotated (${venue.connections} connections)`);
    assert.equal(venue.tradesRefilled, 0, `${venue.venue}: a rotation left a hole that REST had to fill`);
    assert.equal(venue.lastError, null, `${venue.venue}: ${venue.lastError}`);
  }
});

test('a bus that falls behind pauses reading within the buffer bound, then drops the connection; the missed trades come back from REST', async () => {
  let release: (() => void) | undefined;
  let hold: Promise<void> | undefined;
  const fakes = { binance: { venue: 'binance' as const, markets: TEST_MARKETS.binance, tradesPerSecond: 500, seed: 30 } };
  const setup = await rig(fakes, { STREAM_BUFFER_MAX_MESSAGES: '300', STREAM_STALL_DROP_MS: '600' }, () => hold);
  await until('first trades', () => setup.trades.length > 0);
  hold = new Promise((resolve) => (release = resolve));
  let maxBuffered = 0;
  let sawPause = false;
  const started = Date.now();
  while (Date.now() - started < 2_500) {
    const [venue] = setup.streams.status().venues;
    maxBuffered = Math.max(maxBuffered, venue!.buffered);
    sawPause ||= venue!.paused;
    await sleep(20);
  }
  hold = undefined;
  release!();
  await settle(setup);
  check(setup);
  assert.ok(sawPause, 'reading paused while the bus held everything');
  assert.ok(maxBuffered < 300 + 2_000, `the buffer stayed near its bound (max ${maxBuffered})`);
  const [venue] = setup.streams.status().venues;
  assert.ok(venue!.connections >= 2, 'the stalled connection was dropped and opened again');
  assert.ok(venue!.tradesRefilled > 0, 'what the dropped connection missed came back from REST');
  assert.deepEqual(setup.gaps, []);
});

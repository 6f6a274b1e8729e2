import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FakeVenueName } from './venues/fake-venue.ts';
import { TEST_MARKETS } from './testing/quick-streams.ts';
import { check, connected, rig, settle, sleep, until } from './testing/stream-rig.ts';

const VENUE_NAMES = Object.keys(TEST_MARKETS) as FakeVenueName[];

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

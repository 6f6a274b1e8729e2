import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FakeVenueName } from './venues/fake-venue.ts';
import { TEST_MARKETS } from './testing/quick-streams.ts';
import { check, connected, rig, settle, sleep, until } from './testing/stream-rig.ts';

const VENUE_NAMES = Object.keys(TEST_MARKETS) as FakeVenueName[];

test('a reader started again resumes where the last one stopped: what traded meanwhile comes back from REST, what REST lost is a restart gap', async () => {
  // Coinbase keeps only its newest 30 trades per market in REST history; the others keep everything.
  const fakes = Object.fromEntries(
    VENUE_NAMES.map((venue, index) => [
      venue,
      { venue, markets: TEST_MARKETS[venue], tradesPerSecond: 0, seed: 40 + index, ...(venue === 'coinbase' ? { historyLimit: 30 } : {}) },
    ]),
  );
  const setup = await rig(fakes);
  for (const [name, venue] of setup.venues) {
    await until(`${name} connected`, () => connected(setup.streams, name));
    await sleep(200);
    for (const market of TEST_MARKETS[name]) venue.emit(market, 10);
  }
  await until('the first 10 trades of every market', () => setup.trades.length === 10 * 6);
  await setup.stop(setup.streams);

  // Trades 11-60 of every market are made while no reader runs.
  for (const [name, venue] of setup.venues) for (const market of TEST_MARKETS[name]) venue.emit(market, 50);
  const restarted = await setup.start();
  for (const [name, venue] of setup.venues) {
    await until(`${name} connected again`, () => connected(restarted, name));
    await sleep(200);
    for (const market of TEST_MARKETS[name]) venue.emit(market, 1);
  }
  // Trade 61 opened the hole 11-60; the refill brings back what REST holds, 60 among it.
  for (const name of setup.venues.keys()) {
    for (const market of TEST_MARKETS[name]) {
      await until(`${name} ${market} #60 fetched back`, () =>
        setup.trades.some((trade) => trade.venue === name && trade.market === market && trade.trade_id === 60),
      );
    }
  }
  await settle(setup);
  check(setup);

  for (const [name, venue] of setup.venues) {
    for (const market of TEST_MARKETS[name]) {
      const ids = setup.trades.filter((trade) => trade.venue === name && trade.market === market);
      const gaps = setup.gaps.filter((gap) => gap.venue === name && gap.market === market);
      assert.equal(venue.trades(market).at(-1)!.tradeId, 62, `${name} ${market}: the venue made 62 trades`);
      // Coinbase's history holds its newest 30 trades when the refill asks: 31-60 if it asked on the
      // last match sent at subscribing (#60), 32-61 if after trade 61; what is older is a gap.
      let lost = 10;
      if (name === 'coinbase') {
        lost = gaps[0]?.last_trade_id ?? 0;
        assert.ok(lost === 30 || lost === 31, `${name} ${market}: the restart gap ends at ${lost}`);
        assert.deepEqual(
          gaps.map(({ first_trade_id, last_trade_id, missing, cause }) => ({ first_trade_id, last_trade_id, missing, cause })),
          [{ first_trade_id: 11, last_trade_id: lost, missing: lost - 10, cause: 'restart' }],
          `${name} ${market}`,
        );
        assert.match(gaps[0]!.reason, /did not return/);
      } else {
        assert.deepEqual(gaps, [], `${name} ${market}: REST had every trade made while down`);
      }
      assert.deepEqual(
        ids.filter((trade) => trade.via === 'rest').map((trade) => trade.trade_id),
        // Coinbase sends its last match (#60) on subscribing: it came over the stream.
        Array.from({ length: 50 }, (_, i) => 11 + i).filter((id) => id > lost && (name !== 'coinbase' || id < 60)),
        `${name} ${market}: the trades made while down came back from REST`,
      );
    }
  }
});

test('a replica restarted beside a running one resumes at the furthest shared mark and fetches back at most what was published after it', async () => {
  const fakes = Object.fromEntries(
    VENUE_NAMES.map((venue, index) => [venue, { venue, markets: TEST_MARKETS[venue], tradesPerSecond: 200, seed: 50 + index }]),
  );
  const setup = await rig(fakes);
  const second = await setup.start();
  await until('both replicas reading every venue', () =>
    VENUE_NAMES.every((venue) =>
      setup.readers.every((reader) => (reader.status().venues.find((v) => v.venue === venue)?.tradesReceived ?? 0) > 0),
    ),
  );
  await setup.stop(second);
  // The first replica goes on publishing and sharing its marks (every second) while the second is
  // down for 4 s: 1,600 trades of the venue's two markets that a restart from its own mark would fetch.
  await sleep(4_000);
  const third = await setup.start();
  await settle(setup);
  check(setup, { repeats: true });
  for (const status of third.status().venues) {
    // At most what the running replica published after its last shared mark: one mark interval of
    // trading (200 trades/s on each of 2 markets), with half a second to spare.
    assert.ok(status.tradesRefilled <= 600, `${status.venue}: the restarted replica fetched back ${status.tradesRefilled} trades`);
    assert.ok(status.tradesReceived > 0, `${status.venue}: the restarted replica reads`);
  }
});

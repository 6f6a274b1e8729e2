import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { startFakeVenue, type FakeVenue } from './fake-venue.ts';
import { binance, coinbase, kraken, streamedIds, withVenue, type Driver } from '../testing/venue-drivers.ts';
import { eventually, getJson, range, type Session } from '../testing/venue-session.ts';

for (const driver of [binance, coinbase, kraken]) {
  const [market = '', other = ''] = driver.markets;
  const ids = (session: Session) => streamedIds(session, driver, market);

  describe(`fake ${driver.venue}`, () => {
    it('streams emitted trades with consecutive ids, exactly as the ground truth has them', async () => {
      await withVenue(driver, { firstTradeId: 1000 }, async (fake) => {
        const session = await driver.connect(fake);
        assert.deepEqual(fake.emit(market, 20), range(1000, 1019));
        fake.emit(other, 3);
        await eventually(() => ids(session).length === 20, '20 trades');
        const decoded = session.messages.flatMap((message) => driver.decode(message)).filter((t) => t.tradeId < 1020);
        assert.deepEqual(decoded.slice(0, 20), fake.trades(market));
        assert.equal(fake.streamed(market), 20);
        for (const trade of fake.trades(market)) {
          assert.ok(trade.qty > 0.0001 && trade.qty < 2, `qty ${trade.qty}`);
          // The synthetic world's BTC starts near 90 000 and moves a fraction of a percent in a test.
          assert.ok(Math.abs(trade.price / 90_000 - 1) < 0.05, `price ${trade.price}`);
        }
        await eventually(() => streamedIds(session, driver, other).length === 3, 'trades of the other market');
      });
    });

    it('leaves a skipStream hole in the stream that REST history fills', async () => {
      await withVenue(driver, {}, async (fake) => {
        const session = await driver.connect(fake);
        fake.emit(market, 3);
        fake.skipStream(market, 4);
        fake.emit(market, 8);
        await eventually(() => ids(session).length === 7, '7 streamed trades');
        assert.deepEqual(ids(session), [1, 2, 3, 8, 9, 10, 11]);
        assert.deepEqual((await driver.restIds(fake, 4)).slice(0, 4), [4, 5, 6, 7]);
        assert.equal(fake.streamed(market), 7);
        assert.equal(fake.trades(market).length, 11);
      });
    });

    it('burns skipForever ids: missing from the stream and from REST history', async () => {
      await withVenue(driver, {}, async (fake) => {
        const session = await driver.connect(fake);
        fake.emit(market, 2);
        fake.skipForever(market, 3);
        assert.deepEqual(fake.emit(market, 2), [6, 7]);
        await eventually(() => ids(session).length === 4, '4 streamed trades');
        assert.deepEqual(ids(session), [1, 2, 6, 7]);
        assert.deepEqual(await driver.restIds(fake, 1), [1, 2, 6, 7]);
        assert.deepEqual(
          fake.trades(market).map((t) => t.tradeId),
          [1, 2, 6, 7],
        );
      });
    });

    it('keeps only the newest historyLimit trades in REST history', async () => {
      await withVenue(driver, { historyLimit: 10 }, async (fake) => {
        fake.emit(market, 30);
        assert.deepEqual(await driver.restIds(fake, 1), range(21, 30));
        assert.equal(fake.trades(market).length, 30);
      });
    });

    it('killConnections drops every client without a close frame', async () => {
      await withVenue(driver, {}, async (fake) => {
        const sessions = [await driver.connect(fake), await driver.connect(fake)];
        assert.equal(fake.stats().openConnections, 2);
        fake.killConnections();
        for (const session of sessions) await eventually(() => session.closed, 'the close');
        assert.deepEqual(
          sessions.map((session) => session.closed?.code),
          [1006, 1006],
        );
        assert.deepEqual(fake.stats().openConnections, 0);
        assert.deepEqual(fake.stats().connectionsAccepted, 2);
      });
    });

    it('goSilent stops trades and pongs on an open socket until heal', async () => {
      await withVenue(driver, {}, async (fake) => {
        const session = await driver.connect(fake);
        fake.goSilent();
        await sleep(50); // a heartbeat or ticker already on its way may still land
        const framesBefore = session.frames.length;
        fake.emit(market, 5);
        session.ws.ping();
        await sleep(300);
        assert.equal(session.frames.length, framesBefore, 'no frame while silent');
        assert.equal(session.pongs, 0, 'no pong while silent');
        assert.equal(session.ws.readyState, WebSocket.OPEN);
        assert.equal(fake.streamed(market), 0);
        fake.heal();
        session.ws.ping();
        fake.emit(market, 1);
        await eventually(() => ids(session).length === 1 && session.pongs === 1, 'a trade and a pong after heal');
        assert.deepEqual(ids(session), [6]);
        assert.deepEqual(await driver.restIds(fake, 1), range(1, 6));
      });
    });

    it('sendMalformed sends a frame that is not JSON and one of the wrong shape', async () => {
      await withVenue(driver, {}, async (fake) => {
        const session = await driver.connect(fake);
        const before = session.frames.length;
        fake.sendMalformed('not-json');
        fake.sendMalformed('wrong-shape');
        // Tickers and heartbeats may come in between.
        const fresh = () => session.frames.slice(before).filter((frame) => !/heartbeat|miniTicker|"ticker"/.test(frame));
        await eventually(() => fresh().length === 2, 'two frames');
        const [notJson = '', wrongShape = ''] = fresh();
        assert.throws(() => JSON.parse(notJson), SyntaxError);
        const wrong: unknown = JSON.parse(wrongShape);
        assert.throws(() => {
          const trades = driver.decode(wrong);
          if (!trades.every((t) => Number.isInteger(t.tradeId) && Number.isFinite(t.price))) throw new Error('bad trade');
        });
      });
    });

    it('answers REST past restRequestsPerSecond with the venue rate-limit error', async () => {
      await withVenue(driver, { restRequestsPerSecond: 2 }, async (fake) => {
        const answers = [];
        for (let i = 0; i < 4; i++) answers.push(await getJson(driver.restUrl(fake)));
        const limited = answers.map((answer) => driver.isRateLimited(answer));
        assert.deepEqual(limited.slice(0, 2), [false, false]);
        assert.ok(limited[3], 'the fourth request is refused');
        assert.ok(fake.stats().rest429 >= 1);
        assert.equal(fake.stats().restRequests, 4);
      });
    });

    it('duplicates and swaps trades on the stream when asked, with sizes and sides repeatable by seed', async () => {
      await withVenue(driver, { duplicateRate: 1 }, async (fake) => {
        const session = await driver.connect(fake);
        fake.emit(market, 3);
        await eventually(() => ids(session).length === 6, 'six frames');
        assert.deepEqual(ids(session), [1, 1, 2, 2, 3, 3]);
      });
      await withVenue(driver, { reorderRate: 1 }, async (fake) => {
        const session = await driver.connect(fake);
        fake.emit(market, 5);
        await eventually(() => ids(session).length === 5, 'five trades');
        assert.deepEqual(ids(session), [2, 1, 4, 3, 5]);
      });
      const runs = await Promise.all(
        [7, 7].map(async (seed) => {
          const fake = await startFakeVenue({ venue: driver.venue, markets: driver.markets, seed });
          fake.emit(market, 50);
          await fake.close();
          return fake.trades(market);
        }),
      );
      const [first = [], second = []] = runs;
      assert.deepEqual(
        first.map(({ qty, takerSide }) => [qty, takerSide]),
        second.map(({ qty, takerSide }) => [qty, takerSide]),
      );
      // Prices are the world's at the trade's time: two runs a moment apart differ by basis points only.
      first.forEach((trade, i) => assert.ok(Math.abs(trade.price / second[i]!.price - 1) < 0.002, `${trade.price} vs ${second[i]!.price}`));
    });

    it('makes tradesPerSecond trades per market by itself', async () => {
      await withVenue(driver, {}, async (fake) => {
        const session = await driver.connect(fake);
        const started = Date.now();
        fake.setRate(1_000);
        await sleep(300);
        fake.setRate(0);
        const elapsedMs = Date.now() - started;
        const made = fake.trades(market).length;
        assert.ok(made >= 0.7 * elapsedMs && made <= 1.1 * elapsedMs + 20, `made ${made} in ${elapsedMs} ms`);
        assert.equal(fake.trades(other).length, made, 'every market at the same rate');
        await eventually(() => ids(session).length > 0 && fake.streamed(market) === made, 'the stream to catch up');
        const seen = ids(session);
        const first = seen[0] ?? 0;
        assert.deepEqual(seen, range(first, first + seen.length - 1));
      });
    });
  });
}

describe('fake venues together', () => {
  it('sustain 20 000 trades/s across three venues without losing a streamed trade', async () => {
    const drivers = [binance, coinbase, kraken];
    const fakes = await Promise.all(drivers.map((driver) => startFakeVenue({ venue: driver.venue, markets: driver.markets })));
    try {
      const sessions = await Promise.all(drivers.map((driver, i) => driver.connect(fakes[i] as FakeVenue)));
      const perMarket = 20_000 / 6;
      const started = Date.now();
      for (const fake of fakes) fake.setRate(perMarket);
      await sleep(1_000);
      for (const fake of fakes) fake.setRate(0);
      const seconds = (Date.now() - started) / 1_000;
      const streamed = fakes.flatMap((fake, i) => (drivers[i] as Driver).markets.map((market) => fake.streamed(market)));
      const total = streamed.reduce((sum, n) => sum + n, 0);
      assert.ok(total >= 0.85 * 20_000 * seconds, `made ${total} trades in ${seconds} s`);
      const received = () =>
        sessions.reduce((sum, session, i) => sum + session.messages.flatMap((m) => (drivers[i] as Driver).decode(m)).length, 0);
      await eventually(() => received() === total, `all ${total} trades to arrive (got ${received()})`, 5_000);
      for (const fake of fakes) assert.equal(fake.stats().slowConsumers, 0);
    } finally {
      await Promise.all(fakes.map((fake) => fake.close()));
    }
  });
});

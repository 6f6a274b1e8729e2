import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binance, withVenue } from '../../testing/venue-drivers.ts';
import { eventually, getJson, Session, type Msg } from '../../testing/venue-session.ts';

describe('fake binance protocol', () => {
  it('refuses unknown stream names with HTTP 400 and unknown paths with 404', async () => {
    await withVenue(binance, {}, async (fake) => {
      await assert.rejects(Session.open(`${fake.wsUrl}/stream?streams=badusdt@trade`), /HTTP 400/);
      await assert.rejects(Session.open(`${fake.wsUrl}/stream?streams=BTCUSDT@trade`), /HTTP 400/);
      await assert.rejects(Session.open(`${fake.wsUrl}/v2`), /HTTP 404/);
    });
  });

  it('sends raw trade events on /ws/<stream> and answers live SUBSCRIBE', async () => {
    await withVenue(binance, {}, async (fake) => {
      const raw = await Session.open(`${fake.wsUrl}/ws/btcusdt@trade`);
      const live = await Session.open(`${fake.wsUrl}/ws`);
      live.send({ method: 'SUBSCRIBE', params: ['ethusdt@trade'], id: 7 });
      await eventually(() => live.where((m) => m.id === 7).length === 1, 'the SUBSCRIBE answer');
      assert.deepEqual(live.messages[0], { result: null, id: 7 });
      fake.emit('BTCUSDT', 1);
      fake.emit('ETHUSDT', 1);
      await eventually(() => raw.messages.length === 1 && live.messages.length === 2, 'one trade each');
      const event = raw.messages[0] as Msg;
      assert.deepEqual(Object.keys(event), ['e', 'E', 's', 't', 'p', 'q', 'T', 'm', 'M']);
      assert.equal(event.e, 'trade');
      assert.equal(event.s, 'BTCUSDT');
      assert.match(event.p as string, /^\d+\.\d{8}$/);
      assert.equal(event.M, true);
      assert.equal((live.messages[1] as Msg).s, 'ETHUSDT');
    });
  });

  it('sends !miniTicker@arr with every market once a second', async () => {
    await withVenue(binance, {}, async (fake) => {
      const session = await binance.connect(fake);
      fake.emit('BTCUSDT', 5);
      const [arr] = await eventually(() => {
        const found = session.where<Msg>((m) => m.stream === '!miniTicker@arr');
        return found.length > 0 && found;
      }, 'a miniTicker array');
      const tickers = arr?.data as Array<Record<string, unknown>>;
      assert.deepEqual(
        tickers.map((t) => t.s),
        ['BTCUSDT', 'ETHUSDT'],
      );
      assert.deepEqual(Object.keys(tickers[0] ?? {}), ['e', 'E', 's', 'c', 'o', 'h', 'l', 'v', 'q']);
      assert.equal(tickers[0]?.e, '24hrMiniTicker');
    });
  });

  it('pings every pingIntervalMs and terminates a client that does not pong for three', async () => {
    await withVenue(binance, { pingIntervalMs: 50 }, async (fake) => {
      const polite = await binance.connect(fake);
      const mute = await Session.open(`${fake.wsUrl}/ws/btcusdt@trade`, { autoPong: false });
      await eventually(() => mute.closed, 'the mute client to be dropped');
      assert.equal(mute.closed?.code, 1006);
      assert.ok(mute.pings >= 2, `pings ${mute.pings}`);
      assert.ok(polite.pings >= 3);
      assert.equal(polite.closed, undefined);
    });
  });

  it('validates historicalTrades parameters with Binance error bodies', async () => {
    await withVenue(binance, {}, async (fake) => {
      fake.emit('BTCUSDT', 700);
      const page = await getJson(`${fake.restUrl}/api/v3/historicalTrades?symbol=BTCUSDT`);
      const rows = page.body as Array<Record<string, unknown>>;
      assert.equal(rows.length, 500, 'the newest 500 by default');
      assert.equal(rows[0]?.id, 201);
      assert.deepEqual(Object.keys(rows[0] ?? {}), ['id', 'price', 'qty', 'quoteQty', 'time', 'isBuyerMaker', 'isBestMatch']);
      const unknown = await getJson(`${fake.restUrl}/api/v3/historicalTrades?symbol=BADUSDT`);
      assert.deepEqual([unknown.status, unknown.body], [400, { code: -1121, msg: 'Invalid symbol.' }]);
      const tooMany = await getJson(`${fake.restUrl}/api/v3/historicalTrades?symbol=BTCUSDT&limit=1001`);
      assert.equal(tooMany.status, 400);
      assert.equal((tooMany.body as { code: number }).code, -1100);
    });
  });

  it('closes a client whose buffer stays over 8 MB with 1008 slow consumer', async () => {
    await withVenue(binance, {}, async (fake) => {
      const slow = await binance.connect(fake);
      slow.ws.pause();
      await eventually(
        () => {
          fake.emit('BTCUSDT', 5_000);
          return fake.stats().slowConsumers === 1;
        },
        'the slow consumer to be dropped',
        8_000,
      );
      slow.ws.resume();
      await eventually(() => slow.closed, 'the close');
      assert.ok([1008, 1006].includes(slow.closed?.code ?? 0), `closed with ${slow.closed?.code}`);
    });
  });
});

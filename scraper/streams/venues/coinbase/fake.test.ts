import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coinbase, withVenue } from '../../testing/venue-drivers.ts';
import { eventually, getJson, range, Session, type Msg } from '../../testing/venue-session.ts';

describe('fake coinbase protocol', () => {
  it('acknowledges channel objects, sends last_match first, then matches in sequence with the maker side', async () => {
    await withVenue(coinbase, {}, async (fake) => {
      fake.emit('BTC-USD', 2);
      const session = await Session.open(`${fake.wsUrl}/`);
      session.send({ type: 'subscribe', channels: [{ name: 'matches', product_ids: ['BTC-USD'] }, 'ticker'], product_ids: ['BTC-USD'] });
      await eventually(() => session.messages.length >= 2, 'ack and last_match');
      assert.deepEqual(session.messages[0], {
        type: 'subscriptions',
        channels: [
          { name: 'matches', product_ids: ['BTC-USD'] },
          { name: 'ticker', product_ids: ['BTC-USD'] },
        ],
      });
      const last = session.messages[1] as Msg;
      assert.equal(last.type, 'last_match');
      assert.equal(last.trade_id, 2);
      fake.emit('BTC-USD', 3);
      const matches = await eventually(() => {
        const found = session.where<Msg>((m) => m.type === 'match');
        return found.length === 3 && found;
      }, 'three matches');
      const truth = fake.trades('BTC-USD');
      for (const [i, match] of matches.entries()) {
        assert.equal(match.trade_id, i + 3);
        assert.equal(match.side, truth[i + 2]?.takerSide === 'buy' ? 'sell' : 'buy');
        assert.match(match.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
        assert.match(match.maker_order_id as string, /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/);
      }
      const ticker = await eventually(
        () => session.where<Msg>((m) => m.type === 'ticker' && m.trade_id === 5)[0],
        'a ticker of the last trade',
      );
      assert.deepEqual(Object.keys(ticker).sort(), Object.keys(COINBASE_TICKER).sort());
      // Matches and tickers of a product share one sequence, one number a message.
      const sequences = session.where<Msg>((m) => m.type === 'match' || m.type === 'ticker').map((m) => m.sequence as number);
      assert.deepEqual(
        sequences,
        sequences.map((_, i) => (last.sequence as number) + 1 + i),
      );
    });
  });

  it('refuses an unknown product and closes a client that never subscribes', async () => {
    await withVenue(coinbase, { subscribeTimeoutMs: 150 }, async (fake) => {
      const session = await Session.open(`${fake.wsUrl}/`);
      session.send({ type: 'subscribe', product_ids: ['BAD-USD'], channels: ['matches'] });
      await eventually(() => session.messages.length === 1, 'the refusal');
      assert.deepEqual(session.messages[0], { type: 'error', message: 'Failed to subscribe', reason: 'BAD-USD is not a valid product' });
      await eventually(() => session.closed, 'the close after the subscribe timeout');
      assert.deepEqual(session.messages[1], { type: 'error', message: 'Failed to subscribe', reason: 'subscribe timeout' });
      assert.equal(session.closed?.code, 1008);
    });
  });

  it('sends heartbeats every pingIntervalMs to heartbeat subscribers', async () => {
    await withVenue(coinbase, { pingIntervalMs: 50 }, async (fake) => {
      fake.emit('ETH-USD', 1);
      const session = await Session.open(`${fake.wsUrl}/`);
      session.send({ type: 'subscribe', product_ids: ['ETH-USD'], channels: ['heartbeat'] });
      const beats = await eventually(() => {
        const found = session.where<Msg>((m) => m.type === 'heartbeat');
        return found.length >= 2 && found;
      }, 'two heartbeats');
      assert.equal(beats[0]?.last_trade_id, 1);
      assert.equal(beats[0]?.product_id, 'ETH-USD');
    });
  });

  it('pages REST trades newest first with after/before cursors and CB headers', async () => {
    await withVenue(coinbase, {}, async (fake) => {
      fake.emit('BTC-USD', 30);
      const newest = await getJson(`${fake.restUrl}/products/BTC-USD/trades?limit=10`);
      const ids = (body: unknown) => (body as Array<{ trade_id: number }>).map((row) => row.trade_id);
      assert.deepEqual(ids(newest.body), range(21, 30).reverse());
      assert.equal(newest.headers.get('cb-before'), '30');
      assert.equal(newest.headers.get('cb-after'), '21');
      const older = await getJson(`${fake.restUrl}/products/BTC-USD/trades?limit=10&after=21`);
      assert.deepEqual(ids(older.body), range(11, 20).reverse());
      const newer = await getJson(`${fake.restUrl}/products/BTC-USD/trades?limit=5&before=3`);
      assert.deepEqual(ids(newer.body), [8, 7, 6, 5, 4]);
      const row = (newest.body as Array<Record<string, unknown>>)[0];
      assert.deepEqual(Object.keys(row ?? {}), ['time', 'trade_id', 'price', 'size', 'side']);
      const missing = await getJson(`${fake.restUrl}/products/BAD-USD/trades`);
      assert.deepEqual([missing.status, missing.body], [404, { message: 'NotFound' }]);
    });
  });
});

const COINBASE_TICKER = {
  type: 'ticker',
  sequence: 0,
  product_id: '',
  price: '',
  open_24h: '',
  volume_24h: '',
  low_24h: '',
  high_24h: '',
  volume_30d: '',
  best_bid: '',
  best_bid_size: '',
  best_ask: '',
  best_ask_size: '',
  side: '',
  time: '',
  trade_id: 0,
  last_size: '',
};

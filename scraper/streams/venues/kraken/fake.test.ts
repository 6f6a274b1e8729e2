import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FakeTrade } from '../fake-market.ts';
import { kraken, withVenue } from '../../testing/venue-drivers.ts';
import { eventually, getJson, range, Session, type Msg } from '../../testing/venue-session.ts';

describe('fake kraken protocol', () => {
  it('greets with status, acks one subscribe per symbol, refuses unknown pairs, answers ping', async () => {
    await withVenue(kraken, {}, async (fake) => {
      const session = await Session.open(`${fake.wsUrl}/v2`);
      await eventually(() => session.messages.length === 1, 'the status message');
      const status = session.messages[0] as { channel: string; data: Array<Record<string, unknown>> };
      assert.equal(status.channel, 'status');
      assert.deepEqual(Object.keys(status.data[0] ?? {}), ['api_version', 'connection_id', 'system', 'version']);
      session.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['BTC/USD', 'BAD/USD'], snapshot: false }, req_id: 1 });
      session.send({ method: 'ping', req_id: 9 });
      const answers = () => session.where<Msg>((m) => m.channel !== 'heartbeat').slice(1);
      await eventually(() => answers().length === 3, 'two answers and a pong');
      const [ack, refusal, pong] = answers();
      assert.deepEqual(ack?.result, { channel: 'trade', symbol: 'BTC/USD', snapshot: false });
      assert.equal(ack?.success, true);
      assert.equal(refusal?.error, 'Currency pair not supported BAD/USD');
      assert.equal(refusal?.success, false);
      assert.equal(refusal?.symbol, 'BAD/USD');
      assert.equal(pong?.method, 'pong');
      assert.equal(pong?.req_id, 9);
      assert.match(pong?.time_in as string, /Z$/);
    });
  });

  it('batches trades as numbers with the taker side, sends tickers and heartbeats', async () => {
    await withVenue(kraken, { pingIntervalMs: 50 }, async (fake) => {
      const session = await kraken.connect(fake);
      session.send({ method: 'subscribe', params: { channel: 'ticker', symbol: ['BTC/USD'] }, req_id: 2 });
      fake.emit('BTC/USD', 4);
      const [update] = await eventually(() => {
        const found = session.where<Msg>((m) => m.channel === 'trade');
        return found.length > 0 && found;
      }, 'a trade update');
      const data = update?.data as Array<Record<string, unknown>>;
      assert.equal(data.length, 4, 'one message for the batch');
      assert.deepEqual(Object.keys(data[0] ?? {}), ['symbol', 'side', 'price', 'qty', 'ord_type', 'trade_id', 'timestamp']);
      assert.equal(typeof data[0]?.price, 'number');
      assert.equal(data[0]?.side, fake.trades('BTC/USD')[0]?.takerSide);
      await eventually(() => session.where((m) => m.channel === 'heartbeat').length >= 2, 'heartbeats');
      const tickers = await eventually(() => {
        const found = session.where<Msg>((m) => m.channel === 'ticker');
        return found.length > 0 && found;
      }, 'a ticker');
      const ticker = (tickers[0]?.data as Array<Record<string, unknown>>)[0];
      assert.equal(ticker?.last, fake.trades('BTC/USD')[3]?.price);
      for (const field of ['bid', 'bid_qty', 'ask', 'ask_qty', 'volume', 'vwap', 'low', 'high', 'change', 'change_pct']) {
        assert.equal(typeof ticker?.[field], 'number', field);
      }
    });
  });

  it('pages REST trades strictly after since, by the last cursor, under every pair alias', async () => {
    await withVenue(kraken, {}, async (fake) => {
      fake.emit('BTC/USD', 25);
      const seen: number[] = [];
      let since = '0';
      for (let page = 0; page < 5; page++) {
        const { body } = await getJson(`${fake.restUrl}/0/public/Trades?pair=XBTUSD&since=${since}&count=10`);
        const result = (body as { error: string[]; result: { XXBTZUSD: unknown[][]; last: string } }).result;
        seen.push(...result.XXBTZUSD.map((row) => row[6] as number));
        since = result.last;
      }
      // The 25 trades share a few milliseconds: only the nanosecond cursor pages them without loss.
      assert.deepEqual(seen, range(1, 25));
      const first = fake.trades('BTC/USD')[0] as FakeTrade;
      const { body } = await getJson(`${fake.restUrl}/0/public/Trades?pair=BTCUSD&since=${(first.ts - 1) / 1_000}&count=1`);
      const row = (body as { result: { XXBTZUSD: unknown[][] } }).result.XXBTZUSD[0];
      assert.deepEqual(row, [
        first.price.toFixed(5),
        first.qty.toFixed(8),
        first.ts / 1_000,
        first.takerSide === 'buy' ? 'b' : 's',
        'm',
        '',
        1,
      ]);
      const eth = await getJson(`${fake.restUrl}/0/public/Trades?pair=ETH/USD`);
      assert.ok('ETHUSD' in (eth.body as { result: object }).result);
      const unknown = await getJson(`${fake.restUrl}/0/public/Trades?pair=BADUSD`);
      assert.deepEqual([unknown.status, unknown.body], [200, { error: ['EQuery:Unknown asset pair'] }]);
    });
  });
});

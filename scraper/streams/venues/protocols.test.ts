import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binanceProtocol } from './binance/client.ts';
import { coinbaseProtocol } from './coinbase/client.ts';
import { krakenProtocol, restPair } from './kraken/client.ts';
import { fixture } from '../../testing/shared.ts';

const reference = (name: string): unknown => JSON.parse(fixture(name));

test('binance: one combined connection for every market and the all-market mini ticker', () => {
  assert.equal(
    binanceProtocol.url('wss://stream.binance.com:9443/', ['BTCUSDT', 'ETHUSDT']),
    'wss://stream.binance.com:9443/stream?streams=btcusdt@trade/ethusdt@trade/!miniTicker@arr',
  );
  assert.equal(binanceProtocol.market('BTC'), 'BTCUSDT');
  assert.deepEqual(binanceProtocol.subscribe(['BTCUSDT']), []);
});

test('binance: the documented trade event reads as a trade whose taker sold when the buyer is maker', () => {
  const frame = binanceProtocol.parse(JSON.stringify({ stream: 'bnbbtc@trade', data: reference('binance_ws_trade.json') }));
  assert.deepEqual(frame.trades, [{ market: 'BNBBTC', tradeId: 12345, ts: 1672515782136, price: 0.001, qty: 100, side: 'sell' }]);
});

test('binance: the documented mini tickers read as prices with the 24 h change worked out from the open', () => {
  const frame = binanceProtocol.parse(JSON.stringify({ stream: '!miniTicker@arr', data: reference('binance_ws_allMiniTickers_arr.json') }));
  assert.equal(frame.tickers.length, 1);
  const [ticker] = frame.tickers;
  assert.equal(ticker?.market, 'BNBBTC');
  assert.equal(ticker?.price, 0.0025);
  assert.equal(ticker?.quoteVolume24h, 18);
  assert.ok(Math.abs((ticker?.change24hPct ?? 0) - 150) < 1e-9);
});

test('binance: a frame of the wrong shape throws, saying what is wrong', () => {
  assert.throws(() => binanceProtocol.parse('{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT"}}'), /t|p|q/);
  assert.throws(() => binanceProtocol.parse('not json'), SyntaxError);
});

test('coinbase: subscribes to matches and ticker for every product in one message', () => {
  assert.deepEqual(JSON.parse(coinbaseProtocol.subscribe(['BTC-USD', 'ETH-USD'])[0]!), {
    type: 'subscribe',
    product_ids: ['BTC-USD', 'ETH-USD'],
    channels: ['matches', 'ticker'],
  });
});

test("coinbase: a match gives the taker's side, the opposite of the maker's `side`", () => {
  const match = {
    type: 'match',
    trade_id: 10,
    sequence: 50,
    maker_order_id: 'a',
    taker_order_id: 'b',
    time: '2014-11-07T08:19:27.028459Z',
    product_id: 'BTC-USD',
    size: '5.23512',
    price: '400.23',
    side: 'sell',
  };
  assert.deepEqual(coinbaseProtocol.parse(JSON.stringify(match)).trades, [
    { market: 'BTC-USD', tradeId: 10, ts: Date.parse('2014-11-07T08:19:27.028Z'), price: 400.23, qty: 5.23512, side: 'buy' },
  ]);
});

test('coinbase: the documented ticker reads as a price with quote volume and change', () => {
  const [ticker] = coinbaseProtocol.parse(JSON.stringify(reference('coinbase_exchange_ws_ticker.json'))).tickers;
  assert.equal(ticker?.market, 'ETH-USD');
  assert.equal(ticker?.price, 1285.22);
  assert.ok(Math.abs((ticker?.quoteVolume24h ?? 0) - 245532.79269678 * 1285.22) < 1e-3);
  assert.ok(Math.abs((ticker?.change24hPct ?? 0) - ((1285.22 - 1310.79) / 1310.79) * 100) < 1e-9);
});

test('coinbase: an error message is reported, other messages carry nothing', () => {
  assert.equal(
    coinbaseProtocol.parse('{"type":"error","message":"Failed to subscribe","reason":"BAD-USD is not a valid product"}').error,
    'Failed to subscribe: BAD-USD is not a valid product',
  );
  assert.deepEqual(coinbaseProtocol.parse('{"type":"subscriptions","channels":[]}'), { trades: [], tickers: [] });
});

test('kraken: v2 path, subscriptions for trade and ticker, and an application ping', () => {
  assert.equal(krakenProtocol.url('wss://ws.kraken.com', []), 'wss://ws.kraken.com/v2');
  const [trade, ticker] = krakenProtocol.subscribe(['BTC/USD']).map((text) => JSON.parse(text) as { params: { channel: string } });
  assert.equal(trade?.params.channel, 'trade');
  assert.equal(ticker?.params.channel, 'ticker');
  assert.deepEqual(JSON.parse(krakenProtocol.keepalive!.message(1)), { method: 'ping', req_id: 1001 });
  assert.equal(restPair('BTC/USD'), 'XBTUSD');
  assert.equal(restPair('ETH/USD'), 'ETHUSD');
});

test('kraken: a trade update may carry several trades; a refused subscription is reported', () => {
  const update = {
    channel: 'trade',
    type: 'update',
    data: [
      {
        symbol: 'BTC/USD',
        side: 'buy',
        price: 64000.1,
        qty: 0.01,
        ord_type: 'market',
        trade_id: 7,
        timestamp: '2026-11-22T10:00:00.123456Z',
      },
      { symbol: 'BTC/USD', side: 'sell', price: 64000, qty: 0.5, ord_type: 'limit', trade_id: 8, timestamp: '2026-11-22T10:00:00.200000Z' },
    ],
  };
  const frame = krakenProtocol.parse(JSON.stringify(update));
  assert.deepEqual(
    frame.trades.map((trade) => [trade.tradeId, trade.side, trade.ts]),
    [
      [7, 'buy', Date.parse('2026-11-22T10:00:00.123Z')],
      [8, 'sell', Date.parse('2026-11-22T10:00:00.200Z')],
    ],
  );
  const refused = krakenProtocol.parse('{"method":"subscribe","req_id":1,"error":"Currency pair not supported BAD/USD","success":false}');
  assert.equal(refused.error, 'Currency pair not supported BAD/USD');
  assert.deepEqual(krakenProtocol.parse('{"channel":"heartbeat"}'), { trades: [], tickers: [] });
});

import type { FakeTrade } from '../venues/fake-market.ts';
import { startFakeVenue, type FakeVenue, type FakeVenueName, type FakeVenueOptions } from '../venues/fake-venue.ts';
import { TEST_MARKETS } from './quick-streams.ts';
import { eventually, getJson, Session } from './venue-session.ts';

// The trade messages as the venues document them.
interface BinanceTrade {
  e: 'trade';
  E: number;
  s: string;
  t: number;
  p: string;
  q: string;
  T: number;
  m: boolean;
  M: boolean;
}
interface CoinbaseMatch {
  type: string;
  trade_id: number;
  sequence: number;
  time: string;
  product_id: string;
  size: string;
  price: string;
  side: 'buy' | 'sell';
}
interface KrakenTrade {
  symbol: string;
  side: 'buy' | 'sell';
  price: number;
  qty: number;
  ord_type: string;
  trade_id: number;
  timestamp: string;
}

/** What the shared suite needs to know of each venue: how to subscribe, read trades off the wire and ask REST. */
export interface Driver {
  venue: FakeVenueName;
  markets: string[];
  /** Connects and subscribes to the trades of every market; resolves once the venue acknowledged. */
  connect(fake: FakeVenue): Promise<Session>;
  /** The trades one stream message carries (none for other messages), decoded back to the ground-truth shape. */
  decode(message: unknown): FakeTrade[];
  /** Ids REST history returns from `fromId` on, ascending (one page). */
  restIds(fake: FakeVenue, fromId: number): Promise<number[]>;
  isRateLimited(answer: { status: number; headers: Headers; body: unknown }): boolean;
  restUrl(fake: FakeVenue): string;
}

/** Binance: the combined stream of both markets' trades and the mini tickers. */
export const binance: Driver = {
  venue: 'binance',
  markets: TEST_MARKETS.binance,
  connect: (fake) => Session.open(`${fake.wsUrl}/stream?streams=btcusdt@trade/ethusdt@trade/!miniTicker@arr`),
  decode: (message) => {
    const { stream, data } = message as { stream?: string; data: BinanceTrade };
    if (!stream?.endsWith('@trade')) return [];
    return [{ tradeId: data.t, ts: data.T, price: Number(data.p), qty: Number(data.q), takerSide: data.m ? 'sell' : 'buy' }];
  },
  restIds: async (fake, fromId) => {
    const { body } = await getJson(`${fake.restUrl}/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${fromId}&limit=1000`);
    return (body as Array<{ id: number }>).map((row) => row.id);
  },
  isRateLimited: ({ status, headers, body }) =>
    status === 429 && headers.get('retry-after') === '1' && (body as { code: number }).code === -1003,
  restUrl: (fake) => `${fake.restUrl}/api/v3/historicalTrades?symbol=BTCUSDT`,
};

/** Coinbase: the `matches` channel of both products. */
export const coinbase: Driver = {
  venue: 'coinbase',
  markets: TEST_MARKETS.coinbase,
  connect: async (fake) => {
    const session = await Session.open(`${fake.wsUrl}/`);
    session.send({ type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channels: ['matches'] });
    await eventually(() => session.where((m) => m.type === 'subscriptions').length > 0, 'subscriptions');
    return session;
  },
  decode: (message) => {
    const match = message as CoinbaseMatch;
    if (match.type !== 'match') return [];
    const takerSide = match.side === 'sell' ? 'buy' : 'sell';
    return [{ tradeId: match.trade_id, ts: Date.parse(match.time), price: Number(match.price), qty: Number(match.size), takerSide }];
  },
  restIds: async (fake, fromId) => {
    const { body } = await getJson(`${fake.restUrl}/products/BTC-USD/trades?before=${fromId - 1}&limit=1000`);
    return (body as Array<{ trade_id: number }>).map((row) => row.trade_id).reverse();
  },
  isRateLimited: ({ status, body }) => status === 429 && (body as { message: string }).message === 'Public rate limit exceeded',
  restUrl: (fake) => `${fake.restUrl}/products/BTC-USD/trades`,
};

/** Kraken: the v2 `trade` channel of both pairs, without snapshot. */
export const kraken: Driver = {
  venue: 'kraken',
  markets: TEST_MARKETS.kraken,
  connect: async (fake) => {
    const session = await Session.open(`${fake.wsUrl}/v2`);
    session.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['BTC/USD', 'ETH/USD'], snapshot: false }, req_id: 1 });
    await eventually(() => session.where((m) => m.method === 'subscribe' && m.success === true).length === 2, 'subscribe acks');
    return session;
  },
  decode: (message) => {
    const update = message as { channel?: string; type?: string; data: KrakenTrade[] };
    if (update.channel !== 'trade' || update.type !== 'update') return [];
    return update.data.map((t) => ({ tradeId: t.trade_id, ts: Date.parse(t.timestamp), price: t.price, qty: t.qty, takerSide: t.side }));
  },
  restIds: async (fake, fromId) => {
    const { body } = await getJson(`${fake.restUrl}/0/public/Trades?pair=BTC/USD&since=0&count=1000`);
    const rows = (body as { result: { XXBTZUSD: unknown[][] } }).result.XXBTZUSD;
    return rows.map((row) => row[6] as number).filter((id) => id >= fromId);
  },
  isRateLimited: ({ status, body }) => status === 200 && (body as { error: string[] }).error[0] === 'EAPI:Rate limit exceeded',
  restUrl: (fake) => `${fake.restUrl}/0/public/Trades?pair=BTC/USD`,
};

/** Runs `test` against a fresh fake of the driver's venue and markets, and closes it afterwards. */
export async function withVenue(
  driver: Driver,
  options: Partial<FakeVenueOptions>,
  test: (fake: FakeVenue) => Promise<void>,
): Promise<void> {
  const fake = await startFakeVenue({ venue: driver.venue, markets: driver.markets, ...options });
  try {
    await test(fake);
  } finally {
    await fake.close();
  }
}

/** Ids of the trades of `market` the session received, in arrival order (duplicates kept). */
export const streamedIds = (session: Session, driver: Driver, market: string) =>
  session.messages.flatMap((message) =>
    driver
      .decode(message)
      .filter(() => JSON.stringify(message).includes(`"${market}"`))
      .map((t) => t.tradeId),
  );

import type { MarketBook, StreamTrade } from '../fake-market.ts';
import { isoMicros, type RestAnswer, type VenueClient, type VenueContext, type VenueProtocol } from '../fake-protocol.ts';

const CHANNELS = ['matches', 'ticker', 'heartbeat'] as const;
type Channel = (typeof CHANNELS)[number];

/** A Coinbase client's subscriptions: products per channel. */
export interface CoinbaseClientState {
  subscribed: boolean;
  timedOut: boolean;
  channels: Record<Channel, Set<string>>;
}

const TICKER_INTERVAL_MS = 1_000;

/**
 * Coinbase Exchange's feed and trade history: a client sends `subscribe` within `subscribeTimeoutMs` (else an
 * error and a close), gets `subscriptions`, a `last_match` per product, then one `match` per trade. `side` is the
 * maker's side; `sequence` counts the messages of a product (every trade made takes one, streamed or not, and so
 * does each ticker). `ticker` at most every second per product, `heartbeat` every `pingIntervalMs`. REST
 * `GET /products/<id>/trades` pages newest first with `after`/`before` cursors and `CB-BEFORE`/`CB-AFTER` headers.
 */
export function fakeCoinbase(context: VenueContext<CoinbaseClientState>): VenueProtocol<CoinbaseClientState> {
  const tickedTradeId = new Map<string, number>();
  let lastTickerAt = 0;
  let lastHeartbeatAt = 0;

  const fail = (client: VenueClient<CoinbaseClientState>, reason: string) =>
    context.send(client, JSON.stringify({ type: 'error', message: 'Failed to subscribe', reason }));
  const acknowledge = (client: VenueClient<CoinbaseClientState>) => {
    const channels = CHANNELS.filter((name) => client.state.channels[name].size > 0).map((name) => ({
      name,
      product_ids: context.markets.filter((market) => client.state.channels[name].has(market)),
    }));
    context.send(client, JSON.stringify({ type: 'subscriptions', channels }));
  };
  const change = (client: VenueClient<CoinbaseClientState>, request: SubscribeRequest) => {
    const wanted = wantedChannels(request);
    if (typeof wanted === 'string') return fail(client, wanted);
    const unknown = wanted.flatMap(([, products]) => products).find((product) => !context.market(product));
    if (unknown !== undefined) return fail(client, `${unknown} is not a valid product`);
    const fresh: string[] = [];
    for (const [channel, products] of wanted) {
      for (const product of products) {
        const set = client.state.channels[channel];
        if (request.type === 'unsubscribe') set.delete(product);
        else if (!set.has(product)) {
          set.add(product);
          if (channel === 'matches') fresh.push(product);
        }
      }
    }
    if (request.type === 'subscribe') client.state.subscribed = true;
    acknowledge(client);
    for (const product of fresh) {
      const book = context.market(product);
      if (book?.last) context.send(client, match('last_match', book, book.last));
    }
  };
  const sendTickers = (now: number) => {
    for (const product of context.markets) {
      const book = context.market(product) as MarketBook;
      const readers = [...context.clients()].filter((client) => client.state.channels.ticker.has(product));
      if (!book.last || tickedTradeId.get(product) === book.last.tradeId || readers.length === 0) continue;
      tickedTradeId.set(product, book.last.tradeId);
      const text = ticker(book, book.last, (book.sequence += 1));
      for (const client of readers) context.send(client, text);
    }
    lastTickerAt = now;
  };
  const sendHeartbeats = (now: number) => {
    for (const client of context.clients()) {
      for (const product of client.state.channels.heartbeat) {
        const book = context.market(product) as MarketBook;
        const beat = {
          type: 'heartbeat',
          sequence: book.sequence,
          last_trade_id: book.last?.tradeId ?? 0,
          product_id: product,
          time: isoMicros(now),
        };
        context.send(client, JSON.stringify(beat));
      }
    }
    lastHeartbeatAt = now;
  };
  const closeUnsubscribed = (now: number) => {
    for (const client of context.clients()) {
      if (client.state.subscribed || client.state.timedOut || now - client.openedAt < context.subscribeTimeoutMs) continue;
      client.state.timedOut = true;
      fail(client, 'subscribe timeout');
      context.close(client, 1008, 'subscribe timeout');
    }
  };

  return {
    admit: (url) => {
      if (url.pathname !== '/') return { status: 404, body: '' };
      return { state: { subscribed: false, timedOut: false, channels: { matches: new Set(), ticker: new Set(), heartbeat: new Set() } } };
    },
    opened: () => undefined,
    received: (client, text) => {
      let request: SubscribeRequest;
      try {
        request = JSON.parse(text) as SubscribeRequest;
      } catch {
        context.send(client, JSON.stringify({ type: 'error', message: 'Malformed JSON', reason: 'expected a JSON object' }));
        return;
      }
      if (request?.type === 'subscribe' || request?.type === 'unsubscribe') change(client, request);
      else context.send(client, JSON.stringify({ type: 'error', message: `Invalid message type ${String(request?.type)}` }));
    },
    stream: (market, trades) => {
      const readers = [...context.clients()].filter((client) => client.state.channels.matches.has(market.name));
      if (readers.length === 0) return;
      for (const trade of trades) {
        const text = match('match', market, trade);
        for (const client of readers) context.send(client, text);
      }
    },
    tick: (now) => {
      closeUnsubscribed(now);
      if (now - lastTickerAt >= TICKER_INTERVAL_MS) sendTickers(now);
      if (now - lastHeartbeatAt >= context.pingIntervalMs) sendHeartbeats(now);
    },
    rest: (url) => {
      const path = /^\/products\/([^/]+)\/trades$/.exec(url.pathname);
      const market = path ? context.market(decodeURIComponent(path[1] ?? '').toUpperCase()) : undefined;
      if (!market) return { status: 404, body: { message: 'NotFound' } };
      return tradesPage(market, url.searchParams);
    },
    tooManyRequests: () => ({ status: 429, body: { message: 'Public rate limit exceeded' } }),
    malformed: (kind) => {
      if (kind === 'not-json') return '{"type":"match","trade_id":';
      return JSON.stringify({ type: 'match', trade_id: 'not-a-number', product_id: context.markets[0], price: null, side: 'up' });
    },
  };
}

interface SubscribeRequest {
  type?: unknown;
  product_ids?: unknown;
  channels?: unknown;
}

/** The (channel, products) pairs a subscribe names, or the reason it is refused. */
function wantedChannels(request: SubscribeRequest): Array<[Channel, string[]]> | string {
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  const topProducts = strings(request.product_ids);
  if (!Array.isArray(request.channels) || request.channels.length === 0) return 'No channels provided';
  const wanted: Array<[Channel, string[]]> = [];
  for (const entry of request.channels as unknown[]) {
    const named = typeof entry === 'object' && entry !== null ? (entry as { name?: unknown; product_ids?: unknown }) : undefined;
    const name = named ? named.name : entry;
    if (!CHANNELS.includes(name as Channel)) return `${String(name)} is not a valid channel`;
    const products = named?.product_ids !== undefined ? strings(named.product_ids) : topProducts;
    if (products.length === 0) return `No product ids provided for channel ${String(name)}`;
    wanted.push([name as Channel, products]);
  }
  return wanted;
}

const uuid = (prefix: string, tradeId: number) => `${prefix}-0000-4000-8000-${tradeId.toString(16).padStart(12, '0')}`;
const makerSide = (trade: StreamTrade) => (trade.takerSide === 'buy' ? 'sell' : 'buy');

/** A `match` (or `last_match`): built by hand, it is the hot path. */
function match(type: 'match' | 'last_match', book: MarketBook, trade: StreamTrade): string {
  return (
    `{"type":"${type}","trade_id":${trade.tradeId},"sequence":${trade.sequence},"maker_order_id":"${uuid('aaaaaaaa', trade.tradeId)}",` +
    `"taker_order_id":"${uuid('bbbbbbbb', trade.tradeId)}","time":"${isoMicros(trade.ts)}","product_id":"${book.name}",` +
    `"size":"${trade.qty.toFixed(8)}","price":"${trade.price.toFixed(book.decimals)}","side":"${makerSide(trade)}"}`
  );
}

function ticker(book: MarketBook, last: StreamTrade, sequence: number): string {
  const price = (value: number) => value.toFixed(book.decimals);
  const tick = 10 ** -book.decimals;
  return JSON.stringify({
    type: 'ticker',
    sequence,
    product_id: book.name,
    price: price(last.price),
    open_24h: price(book.open),
    volume_24h: book.volume.toFixed(8),
    low_24h: price(book.low),
    high_24h: price(book.high),
    volume_30d: book.volume.toFixed(8),
    best_bid: price(last.price - tick),
    best_bid_size: '0.50000000',
    best_ask: price(last.price + tick),
    best_ask_size: '0.50000000',
    // The ticker's side is the taker's, unlike a match's.
    side: last.takerSide,
    time: isoMicros(last.ts),
    trade_id: last.tradeId,
    last_size: last.qty.toFixed(8),
  });
}

/** One page of `/products/<id>/trades`, newest first: `after` = older than, `before` = newer than, neither = newest. */
function tradesPage(market: MarketBook, query: URLSearchParams): RestAnswer {
  const limitText = query.get('limit') ?? '100';
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 1000) return { status: 400, body: { message: 'Invalid limit' } };
  const cursor = (name: string) => {
    const text = query.get(name);
    return text !== null && /^\d+$/.test(text) ? Number(text) : undefined;
  };
  const after = cursor('after');
  const before = cursor('before');
  const history = market.history;
  let from: number;
  let to: number;
  if (after !== undefined) {
    to = history.indexOfId(after);
    from = Math.max(history.start, to - limit);
  } else if (before !== undefined) {
    from = history.indexOfId(before + 1);
    to = Math.min(history.end, from + limit);
  } else {
    to = history.end;
    from = Math.max(history.start, to - limit);
  }
  const rows = [];
  for (let i = to - 1; i >= from; i--) {
    const trade = history.at(i);
    rows.push({
      time: isoMicros(trade.ts),
      trade_id: trade.tradeId,
      price: trade.price.toFixed(market.decimals),
      size: trade.qty.toFixed(8),
      side: trade.takerSide === 'buy' ? 'sell' : 'buy',
    });
  }
  const headers: Record<string, string> = {};
  if (rows.length > 0) {
    headers['CB-BEFORE'] = String(rows[0]?.trade_id);
    headers['CB-AFTER'] = String(rows[rows.length - 1]?.trade_id);
  }
  return { status: 200, headers, body: rows };
}

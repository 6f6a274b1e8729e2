import type { HistoryTrade, MarketBook, StreamTrade } from '../fake-market.ts';
import type { RestAnswer, VenueClient, VenueContext, VenueProtocol } from '../fake-protocol.ts';

/** A Binance client's streams: combined (`/stream`, wrapped) or raw (`/ws/<stream>`). */
export interface BinanceClientState {
  combined: boolean;
  /** Markets whose `<symbol>@trade` stream the client reads. */
  trades: Set<string>;
  miniTickers: boolean;
}

const MINI_TICKERS = '!miniTicker@arr';
const MINI_TICKER_INTERVAL_MS = 1_000;
const TOO_MANY =
  'Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.';

const badRequest = (code: number, msg: string): RestAnswer => ({ status: 400, body: { code, msg } });
const illegal = (name: string, range: string) =>
  badRequest(-1100, `Illegal characters found in parameter '${name}'; legal range is '${range}'.`);

/**
 * Binance spot market streams and trade history: `<symbol>@trade` (one message per trade) and `!miniTicker@arr`
 * (every second) over `/stream?streams=a/b` (wrapped as `{stream, data}`) or `/ws/<stream>` (raw); live
 * `SUBSCRIBE`/`UNSUBSCRIBE`/`LIST_SUBSCRIPTIONS`; ws ping frames every `pingIntervalMs`, a client silent for three
 * of them is terminated; REST `GET /api/v3/historicalTrades` and `/api/v3/trades`.
 */
export function fakeBinance(context: VenueContext<BinanceClientState>): VenueProtocol<BinanceClientState> {
  const byStream = new Map(context.markets.map((market) => [`${market.toLowerCase()}@trade`, market]));
  let lastMiniTickersAt = 0;
  let lastPingAt = Date.now();

  /** Adds stream names to a state; returns the first unknown name, if any (then nothing is added). */
  const addStreams = (state: BinanceClientState, names: readonly unknown[]): string | undefined => {
    const unknown = names.find((name) => typeof name !== 'string' || (name !== MINI_TICKERS && !byStream.has(name)));
    if (unknown !== undefined) return String(unknown);
    for (const name of names as string[]) {
      if (name === MINI_TICKERS) state.miniTickers = true;
      else state.trades.add(byStream.get(name) as string);
    }
    return undefined;
  };
  const streamNames = (state: BinanceClientState) => [
    ...[...state.trades].map((market) => `${market.toLowerCase()}@trade`),
    ...(state.miniTickers ? [MINI_TICKERS] : []),
  ];
  const wrap = (client: VenueClient<BinanceClientState>, stream: string, data: string) =>
    client.state.combined ? `{"stream":"${stream}","data":${data}}` : data;

  const sendMiniTickers = (now: number) => {
    const data = `[${context.markets.map((market) => miniTicker(context.market(market) as MarketBook, now)).join(',')}]`;
    for (const client of context.clients()) {
      if (client.state.miniTickers) context.send(client, wrap(client, MINI_TICKERS, data));
    }
  };
  const pingAll = (now: number) => {
    for (const client of context.clients()) {
      if (now - client.lastPongAt > 3 * context.pingIntervalMs) context.drop(client);
      else context.ping(client);
    }
  };

  return {
    admit: (url) => {
      const state: BinanceClientState = { combined: url.pathname === '/stream', trades: new Set(), miniTickers: false };
      let names: string[];
      if (url.pathname === '/stream') names = (url.searchParams.get('streams') ?? '').split('/').filter(Boolean);
      else if (url.pathname === '/ws' || url.pathname.startsWith('/ws/'))
        names = url.pathname.slice('/ws'.length).split('/').filter(Boolean);
      else return { status: 404, body: '' };
      if (!state.combined && names.length > 1) return { status: 400, body: JSON.stringify({ code: -1, msg: 'Invalid request' }) };
      const unknown = addStreams(state, names);
      if (unknown !== undefined) return { status: 400, body: JSON.stringify({ code: -1121, msg: `Invalid symbol: ${unknown}` }) };
      return { state };
    },
    opened: () => undefined,
    received: (client, text) => {
      let request: { method?: unknown; params?: unknown; id?: unknown };
      try {
        request = JSON.parse(text) as typeof request;
      } catch {
        context.send(client, JSON.stringify({ error: { code: 3, msg: 'Invalid JSON' } }));
        return;
      }
      const id = request.id ?? null;
      const params = Array.isArray(request.params) ? (request.params as unknown[]) : [];
      const answer = (body: object) => context.send(client, JSON.stringify({ ...body, id }));
      if (request.method === 'SUBSCRIBE') {
        const unknown = addStreams(client.state, params);
        if (unknown === undefined) answer({ result: null });
        else answer({ error: { code: 2, msg: `Invalid request: unknown stream name ${unknown}` } });
      } else if (request.method === 'UNSUBSCRIBE') {
        for (const name of params) {
          if (name === MINI_TICKERS) client.state.miniTickers = false;
          else client.state.trades.delete(byStream.get(String(name)) ?? '');
        }
        answer({ result: null });
      } else if (request.method === 'LIST_SUBSCRIPTIONS') {
        answer({ result: streamNames(client.state) });
      } else {
        answer({ error: { code: 2, msg: `Invalid request: unknown method ${String(request.method)}` } });
      }
    },
    stream: (market, trades) => {
      const readers = [...context.clients()].filter((client) => client.state.trades.has(market.name));
      if (readers.length === 0) return;
      const stream = `${market.name.toLowerCase()}@trade`;
      const now = Date.now();
      for (const trade of trades) {
        const data = tradeEvent(market.name, trade, now);
        for (const client of readers) context.send(client, wrap(client, stream, data));
      }
    },
    tick: (now) => {
      if (now - lastMiniTickersAt >= MINI_TICKER_INTERVAL_MS) {
        lastMiniTickersAt = now;
        sendMiniTickers(now);
      }
      if (now - lastPingAt >= context.pingIntervalMs) {
        lastPingAt = now;
        pingAll(now);
      }
    },
    rest: (url) => {
      const historical = url.pathname === '/api/v3/historicalTrades';
      if (!historical && url.pathname !== '/api/v3/trades') return { status: 404, body: { code: -1, msg: 'Not found.' } };
      const symbol = url.searchParams.get('symbol');
      if (!symbol) return badRequest(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
      const market = context.market(symbol);
      if (!market) return badRequest(-1121, 'Invalid symbol.');
      const limitText = url.searchParams.get('limit') ?? '500';
      const limit = Number(limitText);
      if (!/^\d+$/.test(limitText) || limit < 1 || limit > 1000) return illegal('limit', '1-1000');
      const fromIdText = historical ? url.searchParams.get('fromId') : null;
      if (fromIdText !== null && !/^\d{1,20}$/.test(fromIdText)) return illegal('fromId', '^[0-9]{1,20}$');
      const history = market.history;
      const from = fromIdText === null ? Math.max(history.start, history.end - limit) : history.indexOfId(Number(fromIdText));
      const rows = [];
      for (let i = from; i < Math.min(history.end, from + limit); i++) rows.push(historyRow(history.at(i)));
      return { status: 200, body: rows };
    },
    tooManyRequests: () => ({ status: 429, headers: { 'Retry-After': '1' }, body: { code: -1003, msg: TOO_MANY } }),
    malformed: (kind) => {
      const stream = `${(context.markets[0] ?? '').toLowerCase()}@trade`;
      if (kind === 'not-json') return `{"stream":"${stream}","data":{"e":"trade","t":`;
      return JSON.stringify({ stream, data: { e: 'trade', E: Date.now(), s: context.markets[0], t: 'not-a-number', p: null } });
    },
  };
}

/** `{"e":"trade",...}`: built by hand, it is the hot path (one message per trade). `m`: the buyer was the maker. */
function tradeEvent(symbol: string, trade: StreamTrade, now: number): string {
  return (
    `{"e":"trade","E":${now},"s":"${symbol}","t":${trade.tradeId},"p":"${trade.price.toFixed(8)}",` +
    `"q":"${trade.qty.toFixed(8)}","T":${trade.ts},"m":${trade.takerSide === 'sell'},"M":true}`
  );
}

function miniTicker(market: MarketBook, now: number): string {
  return JSON.stringify({
    e: '24hrMiniTicker',
    E: now,
    s: market.name,
    c: market.price.toFixed(8),
    o: market.open.toFixed(8),
    h: market.high.toFixed(8),
    l: market.low.toFixed(8),
    v: market.volume.toFixed(8),
    q: market.quoteVolume.toFixed(8),
  });
}

function historyRow(trade: HistoryTrade) {
  return {
    id: trade.tradeId,
    price: trade.price.toFixed(8),
    qty: trade.qty.toFixed(8),
    quoteQty: (trade.price * trade.qty).toFixed(8),
    time: trade.ts,
    isBuyerMaker: trade.takerSide === 'sell',
    isBestMatch: true,
  };
}

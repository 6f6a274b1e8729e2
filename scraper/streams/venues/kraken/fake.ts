import type { FakeTrade, MarketBook } from '../fake-market.ts';
import { isoMicros, type VenueClient, type VenueContext, type VenueProtocol } from '../fake-protocol.ts';

/** A Kraken client's subscriptions: symbols per channel. */
export interface KrakenClientState {
  trade: Set<string>;
  ticker: Set<string>;
}

const TICKER_INTERVAL_MS = 1_000;
const SNAPSHOT_TRADES = 50;
const TRADES_PER_MESSAGE = 1_000;

interface Request {
  method?: unknown;
  req_id?: unknown;
  params?: { channel?: unknown; symbol?: unknown; snapshot?: unknown };
}

/**
 * Kraken's WebSocket v2 (`/v2`) and trade history: a `status` message on connect, `subscribe` acks one per symbol,
 * trades batched per tick in `trade` updates (numbers, taker side), `ticker` at most every second per symbol,
 * `heartbeat` every `pingIntervalMs` while subscribed, `ping` answered with `pong`. REST
 * `GET /0/public/Trades?pair=&since=&count=` pages by time (strictly after `since`, seconds or nanoseconds) and
 * answers errors with HTTP 200 and an `error` list, as Kraken does.
 */
export function fakeKraken(context: VenueContext<KrakenClientState>): VenueProtocol<KrakenClientState> {
  const tickedTradeId = new Map<string, number>();
  let lastTickerAt = 0;
  let lastHeartbeatAt = 0;
  const pairs = pairNames(context.markets);

  const reply = (client: VenueClient<KrakenClientState>, timeIn: number, body: object) =>
    context.send(client, JSON.stringify({ ...body, time_in: isoMicros(timeIn), time_out: isoMicros(Date.now()) }));
  const tickerData = (book: MarketBook) => {
    const change = book.price - book.open;
    const tick = 10 ** -book.decimals;
    return {
      symbol: book.name,
      bid: round(book.price - tick, book.decimals),
      bid_qty: 0.5,
      ask: round(book.price + tick, book.decimals),
      ask_qty: 0.5,
      last: book.price,
      volume: round(book.volume, 8),
      vwap: book.volume > 0 ? round(book.quoteVolume / book.volume, book.decimals) : book.price,
      low: book.low,
      high: book.high,
      change: round(change, book.decimals),
      change_pct: round((change / book.open) * 100, 2),
    };
  };
  const subscribe = (client: VenueClient<KrakenClientState>, request: Request, timeIn: number) => {
    const method = request.method as 'subscribe' | 'unsubscribe';
    const channel = request.params?.channel;
    const symbols = Array.isArray(request.params?.symbol) ? (request.params.symbol as unknown[]) : [];
    const snapshot = request.params?.snapshot !== false;
    const base = { method, req_id: request.req_id };
    if (channel !== 'trade' && channel !== 'ticker')
      return reply(client, timeIn, { ...base, error: `Channel ${String(channel)} not supported`, success: false });
    if (symbols.length === 0) return reply(client, timeIn, { ...base, error: 'Missing symbol', success: false });
    for (const symbol of symbols) {
      const book = typeof symbol === 'string' ? context.market(symbol) : undefined;
      if (!book) {
        reply(client, timeIn, { ...base, error: `Currency pair not supported ${String(symbol)}`, success: false, symbol });
        continue;
      }
      if (method === 'unsubscribe') client.state[channel].delete(book.name);
      else client.state[channel].add(book.name);
      const result = channel === 'trade' ? { channel, symbol, snapshot } : { channel, symbol, event_trigger: 'trades', snapshot };
      reply(client, timeIn, { ...base, result, success: true });
      if (method === 'unsubscribe' || !snapshot) continue;
      if (channel === 'ticker') context.send(client, JSON.stringify({ channel, type: 'snapshot', data: [tickerData(book)] }));
      else {
        const history = book.history;
        const trades = [];
        for (let i = Math.max(history.start, history.end - SNAPSHOT_TRADES); i < history.end; i++) trades.push(history.at(i));
        context.send(client, tradeMessage('snapshot', book.name, trades));
      }
    }
  };

  return {
    admit: (url) => (url.pathname === '/v2' ? { state: { trade: new Set(), ticker: new Set() } } : { status: 404, body: '' }),
    opened: (client) => {
      const status = { api_version: 'v2', connection_id: client.id, system: 'online', version: '2.0.9' };
      context.send(client, JSON.stringify({ channel: 'status', type: 'update', data: [status] }));
    },
    received: (client, text) => {
      const timeIn = Date.now();
      let request: Request;
      try {
        request = JSON.parse(text) as Request;
      } catch {
        return reply(client, timeIn, { error: 'Malformed request', success: false });
      }
      if (request?.method === 'ping') reply(client, timeIn, { method: 'pong', req_id: request.req_id });
      else if (request?.method === 'subscribe' || request?.method === 'unsubscribe') subscribe(client, request, timeIn);
      else reply(client, timeIn, { method: request?.method, req_id: request?.req_id, error: 'Method not found', success: false });
    },
    stream: (market, trades) => {
      const readers = [...context.clients()].filter((client) => client.state.trade.has(market.name));
      for (let i = 0; readers.length > 0 && i < trades.length; i += TRADES_PER_MESSAGE) {
        const text = tradeMessage('update', market.name, trades.slice(i, i + TRADES_PER_MESSAGE));
        for (const client of readers) context.send(client, text);
      }
    },
    tick: (now) => {
      if (now - lastTickerAt >= TICKER_INTERVAL_MS) {
        lastTickerAt = now;
        for (const symbol of context.markets) {
          const book = context.market(symbol) as MarketBook;
          if (!book.last || tickedTradeId.get(symbol) === book.last.tradeId) continue;
          tickedTradeId.set(symbol, book.last.tradeId);
          const text = JSON.stringify({ channel: 'ticker', type: 'update', data: [tickerData(book)] });
          for (const client of context.clients()) if (client.state.ticker.has(symbol)) context.send(client, text);
        }
      }
      if (now - lastHeartbeatAt >= context.pingIntervalMs) {
        lastHeartbeatAt = now;
        for (const client of context.clients()) {
          if (client.state.trade.size + client.state.ticker.size > 0) context.send(client, '{"channel":"heartbeat"}');
        }
      }
    },
    rest: (url) => {
      if (url.pathname !== '/0/public/Trades') return { status: 404, body: { error: ['EGeneral:Unknown method'] } };
      const pair = pairs.get((url.searchParams.get('pair') ?? '').toUpperCase());
      const book = pair ? context.market(pair.market) : undefined;
      if (!pair || !book) return { status: 200, body: { error: ['EQuery:Unknown asset pair'] } };
      const countText = url.searchParams.get('count') ?? '1000';
      const sinceText = url.searchParams.get('since');
      const since = sinceText === null ? undefined : parseSince(sinceText);
      const count = Number(countText);
      if (!/^\d+$/.test(countText) || count < 1 || count > 1000 || since === null) {
        return { status: 200, body: { error: ['EGeneral:Invalid arguments'] } };
      }
      const history = book.history;
      const from = since === undefined ? Math.max(history.start, history.end - count) : history.indexAfterNs(since);
      const rows = [];
      let last = since ?? 0n;
      for (let i = from; i < Math.min(history.end, from + count); i++) {
        const trade = history.at(i);
        rows.push([
          trade.price.toFixed(Math.max(5, book.decimals)),
          trade.qty.toFixed(8),
          trade.ts / 1_000,
          trade.takerSide === 'buy' ? 'b' : 's',
          'm',
          '',
          trade.tradeId,
        ]);
        last = trade.tsNs;
      }
      return { status: 200, body: { error: [], result: { [pair.resultKey]: rows, last: String(last) } } };
    },
    tooManyRequests: () => ({ status: 200, body: { error: ['EAPI:Rate limit exceeded'] } }),
    malformed: (kind) => {
      if (kind === 'not-json') return '{"channel":"trade","type":"update","data":[{"symbol":';
      return JSON.stringify({ channel: 'trade', type: 'update', data: { symbol: context.markets[0], price: 'not-a-number' } });
    },
  };
}

const round = (value: number, decimals: number) => Math.round(value * 10 ** decimals) / 10 ** decimals;

/** `{"channel":"trade","type":...,"data":[...]}`: built by hand, it is the hot path. `side` is the taker's. */
function tradeMessage(type: 'snapshot' | 'update', symbol: string, trades: readonly FakeTrade[]): string {
  const data = trades.map(
    (trade) =>
      `{"symbol":"${symbol}","side":"${trade.takerSide}","price":${trade.price},"qty":${trade.qty},"ord_type":"market",` +
      `"trade_id":${trade.tradeId},"timestamp":"${isoMicros(trade.ts)}"}`,
  );
  return `{"channel":"trade","type":"${type}","data":[${data.join(',')}]}`;
}

/**
 * The names REST takes for each market (upper case): the WS name `BTC/USD`, `BTCUSD`, `XBTUSD`, `XBT/USD`,
 * `XXBTZUSD`; and the key its result comes under (`XXBTZUSD` for BTC, `<BASE><QUOTE>` for the others).
 */
function pairNames(markets: readonly string[]): Map<string, { market: string; resultKey: string }> {
  const names = new Map<string, { market: string; resultKey: string }>();
  for (const market of markets) {
    const [base = '', quote = ''] = market.toUpperCase().split('/');
    const bitcoin = base === 'BTC' || base === 'XBT';
    const resultKey = bitcoin ? `XXBTZ${quote}` : `${base}${quote}`;
    const aliases = [market.toUpperCase(), `${base}${quote}`, resultKey, ...(bitcoin ? [`XBT/${quote}`, `XBT${quote}`] : [])];
    for (const alias of aliases) names.set(alias, { market, resultKey });
  }
  return names;
}

/** `since` in nanoseconds: seconds with decimals (`1700000000.1234`) or an integer in nanoseconds; null if neither. */
function parseSince(text: string): bigint | null {
  const parts = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!parts) return null;
  const whole = BigInt(parts[1] ?? '0');
  const fraction = parts[2];
  // A whole number this long is a nanosecond stamp (seconds would be past the year 5000).
  if (fraction === undefined && (parts[1] ?? '').length > 11) return whole;
  return whole * 1_000_000_000n + BigInt((fraction ?? '').padEnd(9, '0').slice(0, 9));
}

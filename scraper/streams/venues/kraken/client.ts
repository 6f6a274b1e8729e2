import { z } from 'zod';
import { endpoint, getJson, isoTime, numeric, parseEnvelope } from '../../../providers/http.ts';
import { krakenError } from '../../../providers/kraken.ts';
import { providerIds } from '../../../symbols.ts';
import type { Frame, HistoryRange, StreamProtocol, TradeHistory, VenueTrade } from '../venue.ts';

const Trade = z.object({
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  price: z.number(),
  qty: z.number(),
  trade_id: z.number().int(),
  timestamp: isoTime,
});
const Ticker = z.object({
  symbol: z.string(),
  last: z.number(),
  volume: z.number().optional(),
  vwap: z.number().optional(),
  change_pct: z.number().optional(),
});
const Message = z.object({
  channel: z.string().optional(),
  method: z.string().optional(),
  success: z.boolean().optional(),
  error: z.string().optional(),
  data: z.array(z.unknown()).optional(),
});
const History = z.object({ error: z.array(z.string()), result: z.record(z.string(), z.unknown()).optional() });
const Row = z.tuple([numeric, numeric, z.number(), z.enum(['b', 's']), z.string(), z.string(), z.number().int()]).rest(z.unknown());

/**
 * Kraken WebSocket v2 (`/v2`): `trade` and `ticker` channels for every pair on one connection,
 * numbers as JSON numbers, taker side in `side`. Kraken sends a heartbeat each second; the
 * client also pings (`{"method":"ping"}`) so a half-open connection shows up.
 */
export const krakenProtocol: StreamProtocol = {
  venue: 'kraken',
  market: (symbol) => `${symbol}/USD`,
  url: (root) => `${root.replace(/\/+$/, '')}/v2`,
  subscribe: (markets) => [
    JSON.stringify({ method: 'subscribe', params: { channel: 'trade', symbol: markets, snapshot: false }, req_id: 1 }),
    JSON.stringify({ method: 'subscribe', params: { channel: 'ticker', symbol: markets }, req_id: 2 }),
  ],
  keepalive: { intervalMs: 15_000, message: (sequence) => JSON.stringify({ method: 'ping', req_id: 1000 + sequence }) },
  parse(text) {
    const message = Message.parse(JSON.parse(text));
    const frame: Frame = { trades: [], tickers: [] };
    if (message.method === 'subscribe' && message.success === false) {
      frame.error = message.error ?? 'subscription refused';
    } else if (message.channel === 'trade') {
      for (const item of message.data ?? []) {
        const trade = Trade.parse(item);
        frame.trades.push({
          market: trade.symbol,
          tradeId: trade.trade_id,
          ts: trade.timestamp,
          price: trade.price,
          qty: trade.qty,
          side: trade.side,
        });
      }
    } else if (message.channel === 'ticker') {
      for (const item of message.data ?? []) {
        const ticker = Ticker.parse(item);
        frame.tickers.push({
          market: ticker.symbol,
          ts: null,
          price: ticker.last,
          quoteVolume24h: ticker.volume !== undefined && ticker.vwap !== undefined ? ticker.volume * ticker.vwap : null,
          change24hPct: ticker.change_pct ?? null,
        });
      }
    }
    return frame;
  },
};

const PAGE = 1_000;

/**
 * `GET /0/public/Trades?pair=&since=<ns>&count=1000`: trades after a time, oldest first. Kraken
 * pages by time, not by id, so the walk starts just before the trade that preceded the hole and
 * follows `last` until it passes the range.
 */
export function krakenHistory(options: { baseUrl: string; timeoutMs: number }): TradeHistory {
  return {
    pageCost: 1,
    async *fetch(range: HistoryRange, signal: AbortSignal) {
      let since = String(Math.max(0, range.fromTs - 1) * 1_000_000);
      for (;;) {
        const url = endpoint(options.baseUrl, '/0/public/Trades');
        url.searchParams.set('pair', restPair(range.market));
        url.searchParams.set('since', since);
        url.searchParams.set('count', String(PAGE));
        const body = parseEnvelope(
          'kraken',
          'Trades',
          History,
          await getJson({ provider: 'kraken', url, timeoutMs: options.timeoutMs, signal }),
        );
        const errors = body.error.filter((message) => message.startsWith('E'));
        if (errors.length > 0) throw krakenError(errors, 'Trades');
        const result = body.result ?? {};
        const key = Object.keys(result).find((name) => name !== 'last');
        const rows = key ? parseEnvelope('kraken', 'Trades', z.array(Row), result[key]) : [];
        const page: VenueTrade[] = rows.map((row) => ({
          market: range.market,
          tradeId: row[6],
          ts: Math.round(row[2] * 1000),
          price: row[0],
          qty: row[1],
          side: row[3] === 'b' ? 'buy' : 'sell',
        }));
        if (page.length === 0) return;
        yield page;
        const last = typeof result.last === 'string' || typeof result.last === 'number' ? String(result.last) : undefined;
        if (page.some((trade) => trade.tradeId >= range.last) || !last || last === since) return;
        since = last;
      }
    },
  };
}

/** The REST name of a WebSocket v2 pair: `BTC/USD` -> `XBTUSD` (Kraken's REST still says XBT). */
export function restPair(market: string): string {
  const [base = market, quote = 'USD'] = market.split('/');
  return (quote === 'USD' ? providerIds(base).kraken?.pair : undefined) ?? `${base}${quote}`;
}

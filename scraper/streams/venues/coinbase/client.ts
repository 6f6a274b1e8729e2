import { z } from 'zod';
import { endpoint, getJson, isoTime, numeric, parseEnvelope } from '../../../providers/http.ts';
import type { Frame, HistoryRange, StreamProtocol, TradeHistory, VenueTrade } from '../venue.ts';

const Match = z.object({
  type: z.enum(['match', 'last_match']),
  trade_id: z.number().int(),
  product_id: z.string(),
  time: isoTime,
  size: numeric,
  price: numeric,
  side: z.enum(['buy', 'sell']),
});
const Ticker = z.object({
  type: z.literal('ticker'),
  product_id: z.string(),
  price: numeric,
  open_24h: numeric.optional(),
  volume_24h: numeric.optional(),
  time: isoTime.optional(),
});
const Message = z.object({ type: z.string(), message: z.string().optional(), reason: z.string().optional() });
const HistoricalTrade = z.object({
  trade_id: z.number().int(),
  time: isoTime,
  price: numeric,
  size: numeric,
  side: z.enum(['buy', 'sell']),
});

/** Coinbase's `side` is the maker's: the taker did the opposite. */
const taker = (makerSide: 'buy' | 'sell') => (makerSide === 'buy' ? 'sell' : 'buy');

/**
 * Coinbase Exchange feed: one connection subscribes to `matches` and `ticker` for every product
 * (the subscribe must come within 5 s of connecting). `last_match`, sent first, is the latest
 * trade before the subscription, so a reconnect notices at once what it missed.
 */
export const coinbaseProtocol: StreamProtocol = {
  venue: 'coinbase',
  market: (symbol) => `${symbol}-USD`,
  url: (root) => root,
  subscribe: (markets) => [JSON.stringify({ type: 'subscribe', product_ids: markets, channels: ['matches', 'ticker'] })],
  parse(text) {
    const json: unknown = JSON.parse(text);
    const message = Message.parse(json);
    const frame: Frame = { trades: [], tickers: [] };
    if (message.type === 'match' || message.type === 'last_match') {
      const match = Match.parse(json);
      frame.trades.push({
        market: match.product_id,
        tradeId: match.trade_id,
        ts: match.time,
        price: match.price,
        qty: match.size,
        side: taker(match.side),
      });
    } else if (message.type === 'ticker') {
      const ticker = Ticker.parse(json);
      const open = ticker.open_24h;
      frame.tickers.push({
        market: ticker.product_id,
        ts: ticker.time ?? null,
        price: ticker.price,
        quoteVolume24h: ticker.volume_24h === undefined ? null : ticker.volume_24h * ticker.price,
        change24hPct: open ? ((ticker.price - open) / open) * 100 : null,
      });
    } else if (message.type === 'error') {
      frame.error = [message.message, message.reason].filter(Boolean).join(': ') || 'error without a message';
    }
    return frame;
  },
};

const PAGE = 1_000;

/**
 * `GET /products/<id>/trades?after=<id>&limit=1000`: trades older than a trade id, newest first.
 * Walks down from just above the range to its first id.
 */
export function coinbaseHistory(options: { baseUrl: string; timeoutMs: number }): TradeHistory {
  return {
    pageCost: 1,
    async *fetch(range: HistoryRange, signal: AbortSignal) {
      let after = range.last + 1;
      while (after > range.first) {
        const url = endpoint(options.baseUrl, `/products/${encodeURIComponent(range.market)}/trades`);
        url.searchParams.set('after', String(after));
        url.searchParams.set('limit', String(Math.min(PAGE, after - range.first)));
        const body = await getJson({ provider: 'coinbase', url, timeoutMs: options.timeoutMs, signal });
        const page: VenueTrade[] = parseEnvelope('coinbase', 'trades', z.array(HistoricalTrade), body).map((trade) => ({
          market: range.market,
          tradeId: trade.trade_id,
          ts: trade.time,
          price: trade.price,
          qty: trade.size,
          side: taker(trade.side),
        }));
        if (page.length === 0) return;
        yield page;
        const oldest = Math.min(...page.map((trade) => trade.tradeId));
        if (oldest >= after) return;
        after = oldest;
      }
    },
  };
}

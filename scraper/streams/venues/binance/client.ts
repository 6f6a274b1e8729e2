import { z } from 'zod';
import { providerIds } from '../../../symbols.ts';
import { endpoint, getJson, numeric, parseEnvelope } from '../../../providers/http.ts';
import type { Frame, HistoryRange, StreamProtocol, TradeHistory, VenueTicker, VenueTrade } from '../venue.ts';

const TradeEvent = z.object({
  e: z.literal('trade'),
  s: z.string(),
  t: z.number().int(),
  p: numeric,
  q: numeric,
  T: z.number().int(),
  m: z.boolean(),
});
const MiniTicker = z.object({ e: z.literal('24hrMiniTicker'), E: z.number().int(), s: z.string(), c: numeric, o: numeric, q: numeric });
const Envelope = z.object({ stream: z.string(), data: z.unknown() });
const HistoricalTrade = z.object({ id: z.number().int(), price: numeric, qty: numeric, time: z.number().int(), isBuyerMaker: z.boolean() });

/** Most streams Binance allows on one connection. */
export const BINANCE_MAX_STREAMS = 1024;
const ALL_MINI_TICKERS = '!miniTicker@arr';

/**
 * Binance spot market streams on one combined connection: `<market>@trade` for every market and
 * the all-market mini ticker (`!miniTicker@arr`, once a second), wrapped as `{stream, data}`.
 * `m` (buyer is maker) means the taker sold. Binance pings every 20 s and the `ws` client pongs.
 */
export const binanceProtocol: StreamProtocol = {
  venue: 'binance',
  market: (symbol) => providerIds(symbol).binance ?? `${symbol}USDT`,
  url(root, markets) {
    const streams = [...markets.map((market) => `${market.toLowerCase()}@trade`), ALL_MINI_TICKERS];
    return `${root.replace(/\/+$/, '')}/stream?streams=${streams.join('/')}`;
  },
  subscribe: () => [],
  parse(text) {
    const envelope = Envelope.parse(JSON.parse(text));
    const frame: Frame = { trades: [], tickers: [] };
    if (envelope.stream === ALL_MINI_TICKERS) {
      for (const item of z.array(z.unknown()).parse(envelope.data)) {
        const ticker = MiniTicker.parse(item);
        frame.tickers.push(miniTicker(ticker));
      }
    } else if (envelope.stream.endsWith('@trade')) {
      const trade = TradeEvent.parse(envelope.data);
      frame.trades.push({ market: trade.s, tradeId: trade.t, ts: trade.T, price: trade.p, qty: trade.q, side: trade.m ? 'sell' : 'buy' });
    }
    return frame;
  },
};

function miniTicker(ticker: z.infer<typeof MiniTicker>): VenueTicker {
  return {
    market: ticker.s,
    ts: ticker.E,
    price: ticker.c,
    quoteVolume24h: ticker.q,
    change24hPct: ticker.o > 0 ? ((ticker.c - ticker.o) / ticker.o) * 100 : null,
  };
}

/** Most trades one `historicalTrades` page returns. */
const PAGE = 1_000;

/**
 * `GET /api/v3/historicalTrades?symbol=&fromId=&limit=1000`: trades from an id upward, oldest
 * first; weight 25 per call. Pages until the range is covered or Binance has no more.
 */
export function binanceHistory(options: { baseUrl: string; timeoutMs: number }): TradeHistory {
  return {
    pageCost: 25,
    async *fetch(range: HistoryRange, signal: AbortSignal) {
      let fromId = range.first;
      while (fromId <= range.last) {
        const url = endpoint(options.baseUrl, '/api/v3/historicalTrades');
        url.searchParams.set('symbol', range.market);
        url.searchParams.set('fromId', String(fromId));
        url.searchParams.set('limit', String(Math.min(PAGE, range.last - fromId + 1)));
        const body = await getJson({ provider: 'binance', url, timeoutMs: options.timeoutMs, signal });
        const page: VenueTrade[] = parseEnvelope('binance', 'historicalTrades', z.array(HistoricalTrade), body).map((trade) => ({
          market: range.market,
          tradeId: trade.id,
          ts: trade.time,
          price: trade.price,
          qty: trade.qty,
          side: trade.isBuyerMaker ? 'sell' : 'buy',
        }));
        if (page.length === 0) return;
        yield page;
        const newest = Math.max(...page.map((trade) => trade.tradeId));
        if (newest < fromId) return;
        fromId = newest + 1;
      }
    },
  };
}

import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { VENUES } from '../../core/records/trade.ts';
import type { StatusBoard } from '../../core/status-board.ts';
import type { LakeReader } from '../queries.ts';
import { createTradeQueries, type GapItem, type TradeCandle, type TradeItem, type TradeMarket } from '../trade-queries.ts';
import { alertParams } from './alerts.ts';
import { candleParams, candleRange } from './params.ts';
import { jsonAnswers } from './openapi.ts';
import { StreamsBody, streamsReport } from './streams.ts';

const VENUE_CHOICES = `expected one of ${VENUES.join(', ')}`;

const venueParam = z
  .enum(VENUES, { error: (issue) => (issue.input === undefined ? `required, ${VENUE_CHOICES}` : VENUE_CHOICES) })
  .describe('exchange');
const marketParam = z
  .string({ error: "required: the venue's market name, e.g. BTCUSDT (binance), BTC-USD (coinbase), BTC/USD (kraken)" })
  .min(1, 'must not be empty')
  .max(40, 'expected at most 40 characters')
  .describe("the venue's market name, e.g. BTCUSDT (binance), BTC-USD (coinbase), BTC/USD (kraken)");
const limitParam = alertParams.shape.limit;

/** Query parameters of `GET /api/trades`. */
export const tradeParams = z.object({
  symbol: candleParams.shape.symbol.optional().describe('upper-case base ticker, e.g. BTC; default: every symbol'),
  venue: venueParam.optional().describe('exchange; default: every venue'),
  market: marketParam.optional().describe("the venue's market name, e.g. BTCUSDT; default: every market"),
  from: candleParams.shape.from.describe('ISO 8601 or epoch ms, inclusive, on the trade time; default: the last 2 days'),
  to: candleParams.shape.to.describe('ISO 8601 or epoch ms, exclusive; default: no upper bound'),
  limit: limitParam.describe('most trades returned, newest first'),
});

/** Query parameters of `GET /api/trade-candles`: a market, and `interval`/`from`/`to` exactly as `/api/candles`. */
export const tradeCandleParams = z.object({
  venue: venueParam,
  market: marketParam,
  interval: candleParams.shape.interval,
  from: candleParams.shape.from.describe('ISO 8601 or epoch ms, inclusive (minutes starting at or after it); default: 6 hours before `to`'),
  to: candleParams.shape.to,
});

/** Query parameters of `GET /api/gaps`. */
export const gapParams = z.object({
  venue: venueParam.optional().describe('exchange; default: every venue'),
  market: marketParam.optional().describe("the venue's market name; default: every market"),
  from: candleParams.shape.from.describe('ISO 8601 or epoch ms, inclusive, on `fromTs`; default: no lower bound'),
  to: candleParams.shape.to.describe('ISO 8601 or epoch ms, exclusive; default: no upper bound'),
  limit: limitParam.describe('most gaps returned, newest first'),
});

const ms = z.number().describe('epoch ms UTC');

/** The response bodies, for the OpenAPI document; `satisfies` keeps them equal to what the queries return. */
export const TradeItemBody = z.object({
  id: z.string().describe('venue:market:tradeId'),
  ts: ms.describe('trade time as the venue stamped it, epoch ms UTC'),
  symbol: z.string(),
  venue: z.string(),
  market: z.string(),
  price: z.number().describe('in the quote currency'),
  qty: z.number().describe('in the base currency'),
  side: z.enum(['buy', 'sell']).describe("the taker's side"),
  tradeId: z.number().int().describe("the venue's trade number in the market"),
  via: z.enum(['stream', 'rest']).describe("`rest`: fetched back from the venue's history after a gap"),
}) satisfies z.ZodType<TradeItem>;

export const TradeMarketBody = z.object({
  venue: z.string(),
  market: z.string(),
  symbol: z.string(),
  trades: z.number().int().describe('trades in the last 24 hours'),
  volume: z.number().describe('base-currency volume in the last 24 hours'),
  lastTs: ms.describe('time of the newest trade'),
}) satisfies z.ZodType<TradeMarket>;

export const TradeCandleBody = z.object({
  time: ms.describe('bucket start, epoch ms UTC'),
  open: z.number().describe('price of the first trade by trade id'),
  high: z.number(),
  low: z.number(),
  close: z.number().describe('price of the last trade by trade id'),
  volume: z.number().describe('sum of quantities, base currency'),
  quoteVolume: z.number().describe('sum of price × quantity, quote currency'),
  buyVolume: z.number().describe('sum of the quantities takers bought'),
  trades: z.number().int(),
}) satisfies z.ZodType<TradeCandle>;

export const GapItemBody = z.object({
  id: z.string(),
  venue: z.string(),
  market: z.string(),
  symbol: z.string(),
  firstTradeId: z.number().int().describe('first missing trade id'),
  lastTradeId: z.number().int().describe('last missing trade id, inclusive'),
  missing: z.number().int(),
  fromTs: ms.describe('time of the trade before the hole'),
  toTs: ms.describe('time of the trade after the hole'),
  cause: z.string().describe('reconnect, sequence, backpressure or restart'),
  reason: z.string().describe("why the venue's history could not fill it"),
  detectedAt: ms,
}) satisfies z.ZodType<GapItem>;

/** The exchange-trade routes, each declared once (see `routes.ts`). */
export const tradeRoutes = {
  trades: createRoute({
    method: 'get',
    path: '/api/trades',
    summary: 'Exchange trades, newest first (trade time, then trade id), one per id',
    request: { query: tradeParams },
    responses: jsonAnswers(z.object({ trades: z.array(TradeItemBody) }), { params: true }),
  }),
  markets: createRoute({
    method: 'get',
    path: '/api/trade-markets',
    summary: 'Markets with exchange trades in the last 24 hours, most trades first',
    responses: jsonAnswers(z.object({ markets: z.array(TradeMarketBody) })),
  }),
  candles: createRoute({
    method: 'get',
    path: '/api/trade-candles',
    summary: 'OHLCV candles of one exchange market from its trades (open and close by trade id, summed volumes)',
    request: { query: tradeCandleParams },
    responses: jsonAnswers(z.object({ candles: z.array(TradeCandleBody) }), { params: true }),
  }),
  gaps: createRoute({
    method: 'get',
    path: '/api/gaps',
    summary: 'Trade ranges missed and not fetched back, newest first, one per id',
    request: { query: gapParams },
    responses: jsonAnswers(z.object({ gaps: z.array(GapItemBody) }), { params: true }),
  }),
  streams: createRoute({
    method: 'get',
    path: '/api/streams',
    summary:
      'The trade streams: each replica and its connections, each venue over the replicas (received, refilled, gaps), and the duplicates the lake dropped',
    responses: jsonAnswers(StreamsBody, { reads: 'status' }),
  }),
};

export interface TradeRouteDeps {
  /** The lake; without it the lake routes answer 503 (`/api/streams` still answers). */
  lake?: LakeReader | undefined;
  statusBoard: Pick<StatusBoard, 'readReplicas'>;
  now: () => number;
  /** The app's result cache. */
  cached: <T>(key: string, load: () => Promise<T>) => Promise<T>;
}

/**
 * Binds the exchange-trade routes: `/api/trades`, `/api/trade-markets`, `/api/trade-candles`,
 * `/api/gaps` and `/api/streams`. Bad parameters are refused by the route's schema (400, the
 * message naming the parameter) before a handler runs.
 */
export function registerTradeRoutes(app: OpenAPIHono, deps: TradeRouteDeps): void {
  const queries = deps.lake ? createTradeQueries(deps.lake) : undefined;
  const unavailable = { error: 'exchange trades are not available on this server' };

  app.openapi(tradeRoutes.trades, async (c) => {
    const query = c.req.valid('query');
    if (!queries) return c.json(unavailable, 503);
    const raw = c.req.query();
    const key = JSON.stringify(['trades', query.symbol, query.venue, query.market, raw.from, raw.to, query.limit]);
    return c.json({ trades: await deps.cached(key, () => queries.trades(query, deps.now())) }, 200);
  });

  app.openapi(tradeRoutes.markets, async (c) => {
    if (!queries) return c.json(unavailable, 503);
    return c.json({ markets: await deps.cached('trade-markets', () => queries.markets(deps.now())) }, 200);
  });

  app.openapi(tradeRoutes.candles, async (c) => {
    const raw = c.req.query();
    const parsed = c.req.valid('query');
    const query = { venue: parsed.venue, market: parsed.market, ...candleRange(parsed, deps.now()) };
    if (!queries) return c.json(unavailable, 503);
    // Keyed by what was asked, not the resolved `now`, as /api/candles is.
    const key = JSON.stringify(['trade-candles', query.venue, query.market, query.interval, raw.from, raw.to]);
    return c.json({ candles: await deps.cached(key, () => queries.candles(query)) }, 200);
  });

  app.openapi(tradeRoutes.gaps, async (c) => {
    const query = c.req.valid('query');
    if (!queries) return c.json(unavailable, 503);
    const raw = c.req.query();
    const key = JSON.stringify(['gaps', query.venue, query.market, raw.from, raw.to, query.limit]);
    return c.json({ gaps: await deps.cached(key, () => queries.gaps(query)) }, 200);
  });

  app.openapi(tradeRoutes.streams, async (c) => c.json(await streamsReport(deps.statusBoard, deps.now()), 200));
}

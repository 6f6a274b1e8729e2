import { z } from 'zod';
import { ProcessorStatus, ScraperStatus } from '../../core/records/status.ts';
import { candleParams, indicatorParams, sqlBody } from './params.ts';
import { alertParams, AlertRow } from './alerts.ts';
import { GapItemBody, gapParams, TradeCandleBody, tradeCandleParams, TradeItemBody, TradeMarketBody, tradeParams } from './trades.ts';
import { StreamsBody } from './streams.ts';

/** The response bodies, as zod schemas: the OpenAPI document is generated from them. */
const num = z.number();
const nullableNum = z.number().nullable();
const ms = z.number().describe('epoch ms UTC');

const ErrorBody = z.object({ error: z.string().describe('what was wrong; for a bad parameter it starts with its name') });
const LatestPrice = z.object({
  symbol: z.string(),
  source: z.string(),
  priceUsd: num,
  change24hPct: nullableNum,
  volume24hUsd: nullableNum,
  marketCapUsd: nullableNum,
  ts: ms,
  ingestedAt: ms,
});
const Candle = z.object({
  time: ms.describe('bucket start, epoch ms UTC'),
  open: num,
  high: num,
  low: num,
  close: num,
  count: z.number().int().describe('observations in the bucket'),
  volume24hUsd: nullableNum.describe("the provider's rolling 24h volume at the close"),
});
const Partition = z.object({
  date: z.string(),
  year: z.number().int(),
  month: z.number().int(),
  day: z.number().int(),
  files: z.number().int(),
  rows: z.number().int(),
  bytes: z.number().int(),
});
const Totals = z.object({ days: num, files: num, rows: num, bytes: num });
const Spread = z.object({
  sources: z.array(z.object({ source: z.string(), priceUsd: num, ts: ms })),
  min: num,
  max: num,
  median: num,
  spreadPct: num.describe('(max - min) / median across providers in the latest minute, in percent'),
});
const IndicatorsBody = z.object({
  symbol: z.string(),
  interval: z.string(),
  window: z.number().int(),
  at: ms,
  candles: z.number().int(),
  lastClose: nullableNum,
  sma: nullableNum,
  ema: nullableNum,
  volatility: nullableNum.describe('sample stdev of log returns of the closes'),
  change24hPct: nullableNum,
  spread: Spread.nullable(),
});
const Health = z.object({ ok: z.boolean(), detail: z.string() });
const ProvidersBody = z.object({
  ok: z.boolean(),
  detail: z.string(),
  synthetic: z.boolean(),
  providers: ScraperStatus.shape.providers,
  recentFallbacks: ScraperStatus.shape.recentFallbacks,
  unserved: z.array(z.string()),
  lastPollAt: nullableNum,
});
const PipelineBody = z.object({
  ok: z.boolean(),
  detail: z.string(),
  processor: ProcessorStatus.nullable(),
  lag: num.describe('messages the processor has yet to consume, all partitions'),
  lakeFreshnessMs: nullableNum.describe('age of the newest record in the lake'),
  live: z.object({ following: z.boolean(), clients: num, received: num, error: z.string().nullable() }),
  totals: Totals,
  days: z.array(Partition),
});
const SqlResultBody = z.object({
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  rows: z.array(z.array(z.unknown())).describe('rows as arrays, in column order'),
  rowCount: z.number().int(),
  truncated: z.boolean().describe('true when more rows existed than maxRows'),
  maxRows: z.number().int(),
  elapsedMs: num,
});

type Schema = z.ZodType;

function json(schema: Schema): object {
  return z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
}

function queryParameters(schema: z.ZodObject): object[] {
  const input = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties: Record<string, { description?: string }>;
    required?: string[];
  };
  return Object.entries(input.properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: input.required?.includes(name) ?? false,
    description: property.description,
    schema: property,
  }));
}

function op(summary: string, body: Schema, extra: Record<string, unknown> = {}): object {
  return {
    summary,
    ...extra,
    responses: {
      200: { description: 'OK', content: { 'application/json': { schema: json(body) } } },
      400: { description: 'A parameter is invalid', content: { 'application/json': { schema: json(ErrorBody) } } },
      401: { description: 'API_TOKEN is set and the request carries no valid token' },
    },
  };
}

/** The OpenAPI 3.1 document served at `/api/openapi.json`. */
export function openApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'cryptolake lake-query API',
      version: '1',
      description:
        'Read-only access to the crypto price lake. Errors are `{ "error": "..." }`. With API_TOKEN set, send `Authorization: Bearer <token>`.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{}, { bearer: [] }],
    paths: {
      '/api/health': {
        get: op("Every part's health", z.object({ ok: z.boolean(), synthetic: z.boolean(), parts: z.record(z.string(), Health) })),
      },
      '/api/latest': { get: op('The newest record per symbol', z.object({ asOf: ms, prices: z.array(LatestPrice) })) },
      '/api/candles': {
        get: op(
          'OHLCV candles of one symbol',
          z.object({ symbol: z.string(), interval: z.string(), from: ms, to: ms, candles: z.array(Candle) }),
          {
            parameters: queryParameters(candleParams),
          },
        ),
      },
      '/api/indicators': {
        get: op('Moving averages, volatility, 24h change and provider spread of one symbol', IndicatorsBody, {
          parameters: queryParameters(indicatorParams),
        }),
      },
      '/api/providers': {
        get: op('Each provider: state, requests, failures by kind, latency, cache hits, last error; recent fallbacks', ProvidersBody),
      },
      '/api/pipeline': { get: op('Processor lag, last flush, live feed, files and bytes per day', PipelineBody) },
      '/api/partitions': {
        get: op('Day partitions with files, rows and bytes', z.object({ totals: Totals, partitions: z.array(Partition) })),
      },
      '/api/dead-letters': {
        get: op(
          'Rejected records by stage and reason',
          z.object({ reasons: z.array(z.object({ stage: z.string(), reason: z.string(), count: num, lastAt: ms })) }),
        ),
      },
      '/api/alerts': {
        get: op('Alerts raised on the price stream, newest first, one per id', z.object({ alerts: z.array(AlertRow) }), {
          parameters: queryParameters(alertParams),
        }),
      },
      '/api/trades': {
        get: op('Exchange trades, newest first (trade time, then trade id), one per id', z.object({ trades: z.array(TradeItemBody) }), {
          parameters: queryParameters(tradeParams),
        }),
      },
      '/api/trade-markets': {
        get: op('Markets with exchange trades in the last 24 hours, most trades first', z.object({ markets: z.array(TradeMarketBody) })),
      },
      '/api/trade-candles': {
        get: op(
          'OHLCV candles of one exchange market from its trades (open and close by trade id, summed volumes)',
          z.object({ candles: z.array(TradeCandleBody) }),
          { parameters: queryParameters(tradeCandleParams) },
        ),
      },
      '/api/gaps': {
        get: op('Trade ranges missed and not fetched back, newest first, one per id', z.object({ gaps: z.array(GapItemBody) }), {
          parameters: queryParameters(gapParams),
        }),
      },
      '/api/streams': {
        get: op(
          'The trade streams: each replica and its connections, each venue over the replicas (received, refilled, gaps), and the duplicates the lake dropped',
          StreamsBody,
        ),
      },
      '/api/sql': {
        post: op(
          'One read-only SELECT/WITH query over the lake views (prices, dead_letters, alerts, candles_1m, trades, gaps, trade_candles_1m; row cap, time and memory limits)',
          SqlResultBody,
          {
            requestBody: { required: true, content: { 'application/json': { schema: json(sqlBody) } } },
          },
        ),
      },
      '/api/stream': {
        get: {
          summary: 'Server-Sent Events: `price` events with {id, ts, symbol, source, price_usd, volume_24h_usd, change_24h_pct}',
          responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: { type: 'string' } } } } },
        },
      },
    },
  };
}

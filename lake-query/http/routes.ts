import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { alertParams, AlertRow } from './alerts.ts';
import { BODY_ERRORS, CONSOLE_ERRORS, errorAnswers, jsonAnswers } from './openapi.ts';
import { candleParams, indicatorParams, sqlBody } from './params.ts';
import {
  Basis,
  CandleBody,
  DeadLettersBody,
  HealthBody,
  IndicatorsBody,
  LatestPriceBody,
  PartitionsBody,
  PipelineBody,
  ProvidersBody,
  SqlResultBody,
} from './schemas.ts';

const ms = z.number().describe('epoch ms UTC');

/**
 * The routes of the lake API, each declared once: method, path, what it takes (validated with these
 * schemas before the handler runs) and what it answers. `app.ts` binds a handler to each, and the
 * OpenAPI document at `/api/openapi.json` is generated from the same declarations.
 */
export const routes = {
  health: createRoute({
    method: 'get',
    path: '/api/health',
    summary: "Every part's health: the lake's catalog, its data files, bus, store, cache, scraper and processor",
    responses: jsonAnswers(HealthBody, { reads: 'status' }),
  }),
  latest: createRoute({
    method: 'get',
    path: '/api/latest',
    summary: 'The newest record per symbol',
    responses: jsonAnswers(z.object({ asOf: ms, prices: z.array(LatestPriceBody) })),
  }),
  candles: createRoute({
    method: 'get',
    path: '/api/candles',
    summary: 'OHLC candles of one symbol from the rollups: by default the composite across sources, with `source` one source alone',
    request: { query: candleParams },
    responses: jsonAnswers(
      z.object({
        symbol: z.string(),
        interval: z.string(),
        from: ms,
        to: ms,
        source: z.string().optional(),
        basis: Basis,
        sources: z.array(z.string()).describe('the sources the candles are made of'),
        candles: z.array(CandleBody),
      }),
      { params: true },
    ),
  }),
  indicators: createRoute({
    method: 'get',
    path: '/api/indicators',
    summary: 'Moving averages, volatility, 24h change and provider spread of one symbol',
    request: { query: indicatorParams },
    responses: jsonAnswers(IndicatorsBody, { params: true }),
  }),
  providers: createRoute({
    method: 'get',
    path: '/api/providers',
    summary: 'Each provider: state, requests, failures by kind, latency, cache hits, last error; recent fallbacks',
    responses: jsonAnswers(ProvidersBody, { reads: 'status' }),
  }),
  pipeline: createRoute({
    method: 'get',
    path: '/api/pipeline',
    summary: 'Processor lag and errors, lake freshness, the live feed, broken data files, files and bytes per day',
    responses: jsonAnswers(PipelineBody),
  }),
  partitions: createRoute({
    method: 'get',
    path: '/api/partitions',
    summary: 'Day partitions of the prices with files, rows and bytes (from the catalog: no data file is read)',
    responses: jsonAnswers(PartitionsBody),
  }),
  deadLetters: createRoute({
    method: 'get',
    path: '/api/dead-letters',
    summary: 'Rejected records counted by stage and reason',
    responses: jsonAnswers(DeadLettersBody),
  }),
  alerts: createRoute({
    method: 'get',
    path: '/api/alerts',
    summary: 'Alerts raised on the price stream, newest first, one per id',
    request: { query: alertParams },
    responses: jsonAnswers(z.object({ alerts: z.array(AlertRow) }), { params: true }),
  }),
  sql: createRoute({
    method: 'post',
    path: '/api/sql',
    summary:
      'One read-only SELECT/WITH query over the lake tables (prices, dead_letters, alerts, candles_1m, trades, gaps, trade_candles_1m), in an isolated worker with row, byte, time and memory limits',
    request: { body: { required: true, content: { 'application/json': { schema: sqlBody } } } },
    responses: { ...jsonAnswers(SqlResultBody), ...BODY_ERRORS, ...CONSOLE_ERRORS },
  }),
  stream: createRoute({
    method: 'get',
    path: '/api/stream',
    summary:
      'Server-Sent Events: `price` events with {id, ts, symbol, source, price_usd, volume_24h_usd, change_24h_pct} as prices reach the bus; a client that falls behind gets an `error` event and is disconnected',
    responses: {
      200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } },
      ...errorAnswers({ reads: 'status' }),
    },
  }),
  openapi: createRoute({
    method: 'get',
    path: '/api/openapi.json',
    summary: 'This document',
    responses: jsonAnswers(z.record(z.string(), z.unknown()).describe('an OpenAPI 3.1 document'), { reads: 'status' }),
  }),
  metrics: createRoute({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics of the process',
    responses: {
      200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } },
      ...errorAnswers({ reads: 'status' }),
    },
  }),
};

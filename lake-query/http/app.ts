import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { StatusBoard } from '../../core/status-board.ts';
import { LakeError } from '../../core/errors.ts';
import type { LakeQueries, LakeReader } from '../queries.ts';
import type { SqlSandbox } from '../sql-sandbox.ts';
import type { LiveFeed } from '../live-feed.ts';
import { QueryCache } from '../query-cache.ts';
import { indicators } from '../indicators.ts';
import { indicatorParams, parseCandleParams, parseParams, sqlBody } from './params.ts';
import { dashboardHandler } from './static.ts';
import { healthReport, type HealthCheck } from './health.ts';
import { corsGuard, tokenGuard } from './access.ts';
import { openApiDocument } from './openapi.ts';
import { streamHandler } from './stream.ts';
import { alertParams, queryAlerts } from './alerts.ts';
import { pipelineReport, providersReport } from './status.ts';
import { registerTradeRoutes } from './trades.ts';

export interface AppDeps {
  queries: LakeQueries;
  /** Health checks by part name: `lake` (DuckDB) and the adapters `bus`, `store`, `cache`. */
  checks: Record<string, HealthCheck>;
  statusBoard: Pick<StatusBoard, 'read' | 'readReplicas'>;
  metrics: Metrics;
  /** Folder of the built dashboard (`dashboard/dist`). */
  dashboardDir: string;
  /** True when the configured provider chain makes prices up. */
  synthetic: boolean;
  log: Logger;
  now?: () => number;
  /** The lake itself, for `/api/indicators`, `/api/alerts` and the exchange-trade routes. */
  lake?: LakeReader;
  /** The sandbox of `POST /api/sql`; without it the route answers 503. */
  sql?: Pick<SqlSandbox, 'run'>;
  /** The bus follower of `GET /api/stream`; without it the route answers 503. */
  live?: LiveFeed;
  /** Reuse of dashboard query results, in ms (0: off). Default 0. */
  cacheTtlMs?: number;
  /** Events one stream client may have waiting before it is dropped. Default 1000. */
  streamMaxBuffered?: number;
  /** When set, every route needs this token (see `tokenGuard`). */
  apiToken?: string;
  /** Origins allowed by CORS; none by default. */
  corsOrigins?: readonly string[];
}

const STATUS: Partial<Record<string, ContentfulStatusCode>> = { QUERY_INVALID: 400, QUERY_FORBIDDEN: 403, QUERY_TIMEOUT: 504 };

/**
 * The HTTP API and the dashboard. Answers JSON; errors are `{ "error": "..." }` with 400 for bad
 * parameters (the message names the parameter), 504 for a query timeout, 500 otherwise, and never
 * a stack trace. Tested with `app.request()`, no socket needed.
 */
export function createApp(deps: AppDeps): Hono {
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ component: 'http' });
  const requests = deps.metrics.counter('http_requests_total', 'HTTP requests answered', ['route', 'status']);
  const cache = new QueryCache(deps.cacheTtlMs ?? 0);
  const cached = <T>(key: string, load: () => Promise<T>) => cache.get(key, load);
  const app = new Hono();

  app.use(async (c, next) => {
    await next();
    requests.inc({ route: c.req.routePath, status: String(c.res.status) });
  });
  app.use(corsGuard(deps.corsOrigins));
  app.use(tokenGuard(deps.apiToken));
  app.use(async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
  });

  app.onError((error, c) => {
    const status = error instanceof LakeError ? (STATUS[error.code] ?? 500) : 500;
    const message = error instanceof LakeError ? error.message : `internal error while answering ${c.req.path}`;
    if (status >= 500) log.error({ err: error, path: c.req.path }, 'Request failed');
    else log.debug({ path: c.req.path, error: message }, 'Rejected a request');
    return c.json({ error: message }, status);
  });

  app.get('/api/health', async (c) => c.json(await healthReport(deps.checks, deps.statusBoard, deps.synthetic, now())));

  app.get('/api/openapi.json', (c) => c.json(openApiDocument()));

  app.get('/api/latest', async (c) => c.json({ asOf: now(), prices: await cached('latest', () => deps.queries.latest()) }));

  app.get('/api/candles', async (c) => {
    const raw = c.req.query();
    const query = parseCandleParams(raw, now());
    // Keyed by what was asked, not the resolved `now`, so repeated dashboard asks share an answer.
    const key = `candles|${query.symbol}|${query.interval}|${raw.from ?? ''}|${raw.to ?? ''}`;
    return c.json({ ...query, candles: await cached(key, () => deps.queries.candles(query)) });
  });

  app.get('/api/indicators', async (c) => {
    const params = parseParams(indicatorParams, c.req.query());
    if (!deps.lake) return c.json({ error: 'indicators are not available on this server' }, 503);
    const at = params.at ?? now();
    const lake = deps.lake;
    const key = `indicators|${params.symbol}|${params.interval}|${params.window}|${c.req.query('at') ?? ''}`;
    return c.json(await cached(key, () => indicators(lake, deps.queries, { ...params, at })));
  });

  app.get('/api/providers', async (c) => c.json(await providersReport(deps.statusBoard, deps.synthetic)));

  app.get('/api/pipeline', async (c) => {
    const [partitions, latest] = await Promise.all([
      cached('partitions', () => deps.queries.partitions()),
      cached('latest', () => deps.queries.latest()),
    ]);
    return c.json(await pipelineReport(deps.statusBoard, partitions, latest, deps.live?.status(), now()));
  });

  app.post('/api/sql', async (c) => {
    const body = await c.req.json().catch(() => {
      throw new LakeError('QUERY_INVALID', 'body: expected JSON such as {"sql": "SELECT ..."}');
    });
    const { sql } = parseParams(sqlBody, body);
    if (!deps.sql) return c.json({ error: 'the SQL console is not available on this server' }, 503);
    const sandbox = deps.sql;
    const result = await sandbox.run(sql);
    log.info({ rows: result.rowCount, truncated: result.truncated, elapsedMs: result.elapsedMs }, 'Answered a SQL console query');
    return c.json(result);
  });

  app.get('/api/stream', (c) => {
    if (!deps.live) return c.json({ error: 'the live stream is not available on this server' }, 503);
    return streamHandler(deps.live, deps.streamMaxBuffered ?? 1_000)(c);
  });

  app.get('/api/partitions', async (c) => {
    const partitions = await cached('partitions', () => deps.queries.partitions());
    const sum = (pick: (p: (typeof partitions)[number]) => number) => partitions.reduce((total, p) => total + pick(p), 0);
    return c.json({
      totals: { days: partitions.length, files: sum((p) => p.files), rows: sum((p) => p.rows), bytes: sum((p) => p.bytes) },
      partitions,
    });
  });

  app.get('/api/alerts', async (c) => {
    const query = parseParams(alertParams, c.req.query());
    if (!deps.lake) return c.json({ error: 'alerts are not available on this server' }, 503);
    const lake = deps.lake;
    const raw = c.req.query();
    const key = `alerts|${query.symbol ?? ''}|${raw.from ?? ''}|${raw.to ?? ''}|${query.limit}`;
    return c.json({ alerts: await cached(key, () => queryAlerts(lake, query)) });
  });

  app.get('/api/dead-letters', async (c) => c.json({ reasons: await deps.queries.deadLetterSummary() }));

  registerTradeRoutes(app, { lake: deps.lake, statusBoard: deps.statusBoard, now, cached });

  app.get('/api/*', (c) => c.json({ error: `no such endpoint: ${c.req.path}` }, 404));

  app.get('/metrics', async (c) => {
    c.header('Content-Type', deps.metrics.registry.contentType);
    return c.body(await deps.metrics.text());
  });

  app.get('*', dashboardHandler(deps.dashboardDir));
  return app;
}

import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';
import { lakeQueryMetrics } from '../lake-query-metrics.ts';
import type { StatusBoard } from '../../core/status-board.ts';
import { LakeError } from '../../core/errors.ts';
import type { LakeQueries, LakeReader, LatestPrice } from '../queries.ts';
import type { SqlSandbox } from '../sql-sandbox.ts';
import type { LiveFeed } from '../live-feed.ts';
import type { BrokenFile } from '../broken-files.ts';
import { QueryCache } from '../query-cache.ts';
import { indicators } from '../indicators.ts';
import { candleRange } from './params.ts';
import { dashboardHandler } from './static.ts';
import { healthReport, type HealthCheck } from './health.ts';
import { corsGuard, tokenGuard } from './access.ts';
import { bodyCap, crossSiteGuard, hostGuard, jsonOnly, LOOPBACK_HOSTS, MAX_BODY_BYTES, methodNotAllowed } from './hygiene.ts';
import { openApiDocument } from './openapi.ts';
import { routes } from './routes.ts';
import { streamHandler } from './stream.ts';
import { queryAlerts } from './alerts.ts';
import { pipelineReport, providersReport } from './status.ts';
import { registerSqlRoute } from './sql-route.ts';
import { registerTradeRoutes } from './trades.ts';

export interface AppDeps {
  queries: LakeQueries;
  /** Health checks by part name: `lake` (the catalog), `files` (the data files) and the adapters `bus`, `store`, `cache`. */
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
  /** The data files found broken, for `/api/pipeline`. */
  files?: { list(): BrokenFile[] };
  /** The sandbox of `POST /api/sql`; without it the route answers 503. */
  sql?: Pick<SqlSandbox, 'run'>;
  /** The bus follower of `GET /api/stream`; without it the route answers 503. */
  live?: LiveFeed;
  /** Reuse of dashboard query results, in ms (0: off). Default 0. */
  cacheTtlMs?: number;
  /** Events one stream client may have waiting before it is dropped. Default 1000. */
  streamMaxBuffered?: number;
  /** Longest a stream client may take to read one event before it is dropped, ms. Default 10000. */
  streamWriteTimeoutMs?: number;
  /** When set, every route needs this token (see `tokenGuard`). */
  apiToken?: string;
  /** Origins allowed by CORS (and to POST); none by default. */
  corsOrigins?: readonly string[];
  /** Host names the server answers to, or `'any'`. Default: the loopback names only. */
  allowedHosts?: readonly string[] | 'any';
}

const STATUS: Partial<Record<string, ContentfulStatusCode>> = {
  QUERY_INVALID: 400,
  QUERY_FORBIDDEN: 403,
  LAKE_FILE_UNREADABLE: 503,
  QUERY_TIMEOUT: 504,
  // The SQL console: past a limit, busy, or without a worker.
  QUERY_LIMIT: 422,
  QUERY_BUSY: 429,
  QUERY_UNAVAILABLE: 503,
};

/**
 * The HTTP API and the dashboard. Each route is declared once in `routes.ts` (or `trades.ts`) with
 * the zod schemas that validate its input and describe its answer; `/api/openapi.json` is
 * generated from those declarations. Before any route: the Host allow-list (403), the token (401),
 * cross-site writes refused (403); a body must be JSON (415) of at most 128 KiB (413, unread); a
 * method a path does not serve answers 405 with `Allow`. Errors are `{ "error": "..." }`: 400 for
 * bad parameters (the message names the parameter), 503 when a data file the answer needs cannot
 * be read (named relative to the data path), 504 for a query timeout, for the SQL console 422 past
 * a limit (named), 429 when busy and 503 without a worker (both with Retry-After), 500 otherwise,
 * never a stack trace or an absolute path. Tested with `app.request()`, no socket needed.
 */
export function createApp(deps: AppDeps): OpenAPIHono {
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ component: 'http' });
  const requests = lakeQueryMetrics(deps.metrics).httpRequests;
  const cache = new QueryCache(deps.cacheTtlMs ?? 0);
  const cached = <T>(key: string, load: () => Promise<T>) => cache.get(key, load);
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issue = result.error.issues[0]!;
      return c.json({ error: `${String(issue.path[0] ?? 'body')}: ${issue.message}` }, 400);
    },
  });

  app.use(async (c, next) => {
    await next();
    requests.inc({ route: c.req.routePath, status: String(c.res.status) });
  });
  app.use(hostGuard(deps.allowedHosts ?? LOOPBACK_HOSTS));
  app.use(corsGuard(deps.corsOrigins));
  app.use(tokenGuard(deps.apiToken));
  app.use(async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
  });
  app.use(crossSiteGuard(deps.corsOrigins));
  for (const route of [routes.sql]) app.on(route.method.toUpperCase(), route.path, jsonOnly(), bodyCap(MAX_BODY_BYTES));

  app.onError((error, c) => {
    if (error instanceof HTTPException && error.status < 500) {
      const message = error.status === 400 ? 'body: expected JSON such as {"sql": "SELECT ..."}' : error.message;
      return c.json({ error: message }, error.status as ContentfulStatusCode);
    }
    const status = error instanceof LakeError ? (STATUS[error.code] ?? 500) : 500;
    const message = error instanceof LakeError ? error.message : `internal error while answering ${c.req.path}`;
    if (error instanceof LakeError && (error.code === 'QUERY_BUSY' || error.code === 'QUERY_UNAVAILABLE')) c.header('Retry-After', '2');
    if (error instanceof LakeError && (error.code === 'QUERY_BUSY' || error.code === 'QUERY_UNAVAILABLE')) c.header('Retry-After', '2');
    if (status === 500) log.error({ err: error, path: c.req.path }, 'Request failed');
    else log.debug({ path: c.req.path, error: message }, 'Refused a request');
    return c.json({ error: message }, status);
  });

  app.openapi(routes.health, async (c) => c.json(await healthReport(deps.checks, deps.statusBoard, deps.synthetic, now()), 200));

  app.openapi(routes.latest, async (c) => c.json({ asOf: now(), prices: await cached('latest', () => deps.queries.latest()) }, 200));

  app.openapi(routes.candles, async (c) => {
    const params = c.req.valid('query');
    const query = { symbol: params.symbol, ...(params.source ? { source: params.source } : {}), ...candleRange(params, now()) };
    const raw = c.req.query();
    // Keyed by what was asked, not the resolved `now`, so repeated dashboard asks share an answer.
    const key = `candles|${query.symbol}|${query.source ?? ''}|${query.interval}|${raw.from ?? ''}|${raw.to ?? ''}`;
    return c.json({ ...query, ...(await cached(key, () => deps.queries.candles(query))) }, 200);
  });

  app.openapi(routes.indicators, async (c) => {
    const params = c.req.valid('query');
    if (!deps.lake) return c.json({ error: 'indicators are not available on this server' }, 503);
    const at = params.at ?? now();
    const lake = deps.lake;
    const key = `indicators|${params.symbol}|${params.source ?? ''}|${params.interval}|${params.window}|${c.req.query('at') ?? ''}`;
    return c.json(await cached(key, () => indicators(lake, deps.queries, { ...params, at })), 200);
  });

  app.openapi(routes.providers, async (c) => c.json(await providersReport(deps.statusBoard, deps.synthetic), 200));

  app.openapi(routes.pipeline, async (c) => {
    const [partitions, latest] = await Promise.all([
      cached('partitions', () => deps.queries.partitions()),
      // A broken price file leaves the report without freshness, not without an answer.
      cached('latest', () => deps.queries.latest()).catch(unlessFileBroken<LatestPrice[]>),
    ]);
    const report = await pipelineReport(deps.statusBoard, partitions, latest, deps.live?.status(), deps.files?.list() ?? [], now());
    return c.json(report, 200);
  });

  registerSqlRoute(app, deps.sql, log);

  app.openapi(routes.stream, (c) => {
    if (!deps.live) return c.json({ error: 'the live stream is not available on this server' }, 503);
    const limits = { maxBuffered: deps.streamMaxBuffered ?? 1_000, writeTimeoutMs: deps.streamWriteTimeoutMs ?? 10_000 };
    return streamHandler(deps.live, limits)(c) as never;
  });

  app.openapi(routes.partitions, async (c) => {
    const partitions = await cached('partitions', () => deps.queries.partitions());
    const sum = (pick: (p: (typeof partitions)[number]) => number) => partitions.reduce((total, p) => total + pick(p), 0);
    return c.json(
      {
        totals: { days: partitions.length, files: sum((p) => p.files), rows: sum((p) => p.rows), bytes: sum((p) => p.bytes) },
        partitions,
      },
      200,
    );
  });

  app.openapi(routes.alerts, async (c) => {
    const query = c.req.valid('query');
    if (!deps.lake) return c.json({ error: 'alerts are not available on this server' }, 503);
    const lake = deps.lake;
    const raw = c.req.query();
    const key = `alerts|${query.symbol ?? ''}|${raw.from ?? ''}|${raw.to ?? ''}|${query.limit}`;
    return c.json({ alerts: await cached(key, () => queryAlerts(lake, query)) }, 200);
  });

  app.openapi(routes.deadLetters, async (c) => c.json({ reasons: await deps.queries.deadLetterSummary() }, 200));

  registerTradeRoutes(app, { lake: deps.lake, statusBoard: deps.statusBoard, now, cached });

  app.openapi(routes.metrics, async (c) => {
    c.header('Content-Type', deps.metrics.registry.contentType);
    return c.body(await deps.metrics.text()) as never;
  });

  // Declared like the others, so the document describes itself; generated once, after every route.
  let document: object | undefined;
  app.openapi(routes.openapi, (c) => c.json((document ??= openApiDocument(app)) as Record<string, unknown>, 200));

  const serveDashboard = dashboardHandler(deps.dashboardDir);
  app.get('*', (c) => (c.req.path.startsWith('/api/') ? c.notFound() : serveDashboard(c)));
  app.notFound(methodNotAllowed(methodTable(app), notFound));
  return app;
}

function unlessFileBroken<T>(error: unknown): T | undefined {
  if (error instanceof LakeError && error.code === 'LAKE_FILE_UNREADABLE') return undefined;
  throw error;
}

function notFound(c: Context): Response {
  if (c.req.path.startsWith('/api/')) return c.json({ error: `no such endpoint: ${c.req.path}` }, 404);
  return c.text(`Not found: ${c.req.path}`, 404);
}

/** The methods each declared path answers; any other path outside /api/ is a page file (GET). */
function methodTable(app: OpenAPIHono): (path: string) => readonly string[] {
  const table = new Map<string, Set<string>>();
  for (const route of app.routes) {
    if (route.method === 'ALL' || /[*:]/.test(route.path)) continue;
    const methods = table.get(route.path) ?? new Set<string>();
    methods.add(route.method);
    table.set(route.path, methods);
  }
  return (path) => [...(table.get(path) ?? (path.startsWith('/api/') ? [] : ['GET']))];
}

import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { StatusBoard } from '../../core/status-board.ts';
import { LakeError } from '../../core/errors.ts';
import type { LakeQueries } from '../queries.ts';
import { parseCandleParams } from './params.ts';
import { dashboardHandler } from './static.ts';
import { healthReport, type HealthCheck } from './health.ts';

export interface AppDeps {
  queries: LakeQueries;
  /** Health checks by part name: `lake` (DuckDB) and the adapters `bus`, `store`, `cache`. */
  checks: Record<string, HealthCheck>;
  statusBoard: Pick<StatusBoard, 'read'>;
  metrics: Metrics;
  /** Folder of the built dashboard (`dashboard/dist`). */
  dashboardDir: string;
  /** True when the configured provider chain makes prices up. */
  synthetic: boolean;
  log: Logger;
  now?: () => number;
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
  const app = new Hono();

  app.use(async (c, next) => {
    await next();
    requests.inc({ route: c.req.routePath, status: String(c.res.status) });
  });

  app.onError((error, c) => {
    const status = error instanceof LakeError ? (STATUS[error.code] ?? 500) : 500;
    const message = error instanceof LakeError ? error.message : `internal error while answering ${c.req.path}`;
    if (status >= 500) log.error({ err: error, path: c.req.path }, 'Request failed');
    else log.debug({ path: c.req.path, error: message }, 'Rejected a request');
    return c.json({ error: message }, status);
  });

  app.get('/api/health', async (c) => c.json(await healthReport(deps.checks, deps.statusBoard, deps.synthetic, now())));

  app.get('/api/latest', async (c) => c.json({ asOf: now(), prices: await deps.queries.latest() }));

  app.get('/api/candles', async (c) => {
    const query = parseCandleParams(c.req.query(), now());
    return c.json({ ...query, candles: await deps.queries.candles(query) });
  });

  app.get('/api/partitions', async (c) => {
    const partitions = await deps.queries.partitions();
    const sum = (pick: (p: (typeof partitions)[number]) => number) => partitions.reduce((total, p) => total + pick(p), 0);
    return c.json({
      totals: { days: partitions.length, files: sum((p) => p.files), rows: sum((p) => p.rows), bytes: sum((p) => p.bytes) },
      partitions,
    });
  });

  app.get('/api/dead-letters', async (c) => c.json({ reasons: await deps.queries.deadLetterSummary() }));

  app.get('/api/*', (c) => c.json({ error: `no such endpoint: ${c.req.path}` }, 404));

  app.get('/metrics', async (c) => {
    c.header('Content-Type', deps.metrics.registry.contentType);
    return c.body(await deps.metrics.text());
  });

  app.get('*', dashboardHandler(deps.dashboardDir));
  return app;
}

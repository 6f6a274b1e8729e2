import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Health } from './ports/health.ts';
import type { Metrics } from './metrics.ts';

/** A named readiness check; the part is ready when every check is ok. */
export type HealthChecks = Record<string, () => Promise<Health>>;

/** Runs every check, with a time limit each, and says whether all are ok. */
export async function checkAll(checks: HealthChecks, timeoutMs = 3_000): Promise<{ ok: boolean; checks: Record<string, Health> }> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, Health]> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<Health>(
        (resolve) => (timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs)),
      );
      const health = await Promise.race([check().catch((error: Error) => ({ ok: false, detail: error.message })), timeout]);
      clearTimeout(timer);
      return [name, health];
    }),
  );
  return { ok: entries.every(([, health]) => health.ok), checks: Object.fromEntries(entries) };
}

/**
 * The health and metrics endpoint of a part that runs on its own (scraper, processor):
 * `GET /health` answers 200 when ready and 503 otherwise, with each check's detail;
 * `GET /metrics` is the Prometheus text format. Resolves with the bound port and a close function.
 */
export async function serveHealth(options: { port: number; host: string; checks: HealthChecks; metrics: Metrics; status?: () => unknown }) {
  const app = new Hono();
  app.get('/health', async (c) => {
    const result = await checkAll(options.checks);
    return c.json({ ...result, status: options.status?.() }, result.ok ? 200 : 503);
  });
  app.get('/metrics', async (c) => c.text(await options.metrics.text(), 200, { 'content-type': options.metrics.registry.contentType }));
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () => resolve(started));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

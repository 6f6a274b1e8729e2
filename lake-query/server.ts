import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Adapters } from '../core/adapters/select.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import { StatusBoard } from '../core/status-board.ts';
import { allowedHostsOf, loadLakeQueryConfig } from './config.ts';
import { Lake } from './lake.ts';
import { createLakeQueries } from './queries.ts';
import { createApp } from './http/app.ts';
import { SqlSandbox, unavailableConsole } from './sql-sandbox.ts';
import type { LakeQueryConfig } from './config.ts';
import { LiveFeed } from './live-feed.ts';
import { randomUUID } from 'node:crypto';
import { LakeFileCheck } from './file-check.ts';
import { warmUpInBackground } from './warm-up.ts';

/** Where `npm run build:dashboard` puts the page. */
export const DASHBOARD_DIST = fileURLToPath(new URL('../dashboard/dist/', import.meta.url));

/** A running lake-query: its base URL (with the real port when PORT=0) and how to stop it. */
export interface LakeQueryServer {
  url: string;
  /** Resolves once the live feed follows the bus (or failed to, logged); for tests. */
  live: Promise<void>;
  /** Resolves once the warm-up of the lake is done (or failed, logged; or is off: WARM_UP=false); for tests. */
  warm: Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts lake-query on the given adapters: opens DuckDB over `adapters.lake`, warms it in the
 * background with what the dashboard asks first (`warm-up.ts`; listening does not wait for it),
 * serves the API and the dashboard on HOST:PORT. Throws `CONFIG_INVALID` for bad settings in
 * `env`. `close()` stops the server, the warm-up and DuckDB; it does not close the adapters, which
 * belong to the caller.
 */
export async function startLakeQuery(
  adapters: Adapters,
  env: Record<string, string | undefined>,
  log: Logger,
  metrics: Metrics,
  options: { dashboardDir?: string } = {},
): Promise<LakeQueryServer> {
  const config = loadLakeQueryConfig(env);
  const partLog = log.child({ part: 'lake-query' });
  const lake = await Lake.open(
    adapters.lake,
    {
      queryTimeoutMs: config.queryTimeoutMs,
      memoryLimit: config.duckdbMemoryLimit,
      threads: config.duckdbThreads,
      connections: config.duckdbConnections,
    },
    partLog,
    metrics,
  );
  const warming = config.warmUp ? warmUpInBackground(lake, { now: Date.now() }, partLog.child({ component: 'warm-up' })) : undefined;
  const sql = await openSqlConsole(adapters, config, partLog, metrics);
  // A group of its own, never committed: every lake-query sees every new price, from the end.
  const live = new LiveFeed(adapters.bus, config.kafkaTopic, `cryptolake-lake-query-${randomUUID()}`, partLog, metrics);
  live.start();
  const files = new LakeFileCheck(lake, adapters.store, config.fileCheckIntervalMs);
  const app = createApp({
    queries: createLakeQueries(lake),
    lake,
    files: lake.files,
    sql,
    live,
    cacheTtlMs: config.cacheTtlMs,
    streamMaxBuffered: config.streamMaxBuffered,
    streamWriteTimeoutMs: config.streamWriteTimeoutMs,
    apiToken: config.apiToken,
    corsOrigins: config.corsOrigins,
    allowedHosts: allowedHostsOf(config),
    checks: { lake, files, bus: adapters.bus, store: adapters.store, cache: adapters.cache },
    statusBoard: new StatusBoard(adapters.cache),
    metrics,
    dashboardDir: options.dashboardDir ?? DASHBOARD_DIST,
    synthetic: adapters.lake.synthetic,
    log: partLog,
  });
  let server: ReturnType<typeof serve>;
  try {
    const address = await new Promise<AddressInfo>((resolve, reject) => {
      server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, resolve);
      server.once('error', reject);
    });
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${host}:${address.port}`;
    partLog.info({ url, lake: lake.describe }, 'Serving the lake API and dashboard');
    return {
      url,
      live: live.ready(),
      warm: warming?.done ?? Promise.resolve(),
      async close() {
        // Streams end first, else server.close() waits for them forever.
        await live.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        if ('closeAllConnections' in server) server.closeAllConnections();
        await closed;
        await sql.close();
        await warming?.stop();
        await lake.close();
        partLog.info('Stopped lake-query');
      },
    };
  } catch (error) {
    await live.close();
    await sql.close();
    await warming?.stop();
    await lake.close();
    throw error;
  }
}

/**
 * The SQL console's worker pool. When its workers cannot start (no `prlimit` or no /proc: not
 * Linux; a lake they cannot open), the server runs without it: `POST /api/sql` answers 503, and
 * the reason is logged once here.
 */
async function openSqlConsole(adapters: Adapters, config: LakeQueryConfig, log: Logger, metrics: Metrics) {
  try {
    return await SqlSandbox.open(adapters.lake, {
      maxRows: config.sqlMaxRows,
      maxBytes: config.sqlMaxBytes,
      timeoutMs: config.sqlTimeoutMs,
      memoryLimit: config.sqlMemoryLimit,
      threads: 1,
      workers: config.sqlWorkers,
      queueMax: config.sqlQueueMax,
      queueWaitMs: config.sqlQueueWaitMs,
      log,
      metrics,
    });
  } catch (error) {
    log.warn({ err: error }, 'The SQL console is off: its workers could not start');
    // The reason names the lake's places: it stays in the log.
    return unavailableConsole('its worker processes could not start (the server log says why)');
  }
}

import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import type { Bus } from '../../core/ports/bus.ts';
import { StatusBoard } from '../../core/status-board.ts';
import type { AppDeps } from '../../lake-query/http/app.ts';
import { Lake } from '../../lake-query/lake.ts';
import { LiveFeed } from '../../lake-query/live-feed.ts';
import { createLakeQueries } from '../../lake-query/queries.ts';
import { SqlSandbox } from '../../lake-query/sql-sandbox.ts';
import type { FixtureLake } from './fixture-lake.ts';

/** What a test of lake-query's HTTP app holds open: the lake, the SQL console, the live feed when asked. */
export interface LakeQueryApp {
  lake: Lake;
  sql: SqlSandbox;
  live?: LiveFeed;
  /** The app's dependencies, for `createApp({ ...deps, ... })`. */
  deps: AppDeps;
  /** Closes the live feed, the console and the lake (the fixture and the bus stay the test's). */
  close(): Promise<void>;
}

/**
 * lake-query's app dependencies over a fixture lake, as `server.ts` wires them at small limits
 * (a 256MB lake of two connections, a console of 100 rows, 2 s and 128MB), with the clock at
 * `now`. With `live`, a live feed of the bus's `prices` topic in the group named, started and ready.
 */
export async function openLakeQueryApp(
  fixture: FixtureLake,
  options: { now: number; metrics?: Metrics; live?: { bus: Bus; group: string }; statusBoard?: StatusBoard; checks?: AppDeps['checks'] },
): Promise<LakeQueryApp> {
  const metrics = options.metrics ?? new Metrics();
  const lake = await Lake.open(
    fixture.location,
    { queryTimeoutMs: 5_000, memoryLimit: '256MB', threads: 1, connections: 2 },
    silentLogger,
    metrics,
  );
  const sql = await SqlSandbox.open(fixture.location, { maxRows: 100, timeoutMs: 2_000, memoryLimit: '128MB', threads: 1 });
  let live: LiveFeed | undefined;
  if (options.live) {
    live = new LiveFeed(options.live.bus, 'prices', options.live.group, silentLogger, metrics);
    live.start();
    await live.ready();
  }
  const deps: AppDeps = {
    queries: createLakeQueries(lake),
    lake,
    sql,
    ...(live ? { live } : {}),
    checks: options.checks ?? {},
    statusBoard: options.statusBoard ?? new StatusBoard(new MemoryCache()),
    metrics,
    dashboardDir: fixture.root,
    synthetic: false,
    log: silentLogger,
    now: () => options.now,
  };
  return {
    lake,
    sql,
    ...(live ? { live } : {}),
    deps,
    close: async () => {
      await live?.close();
      await sql.close();
      await lake.close();
    },
  };
}

/**
 * lake-query's HTTP app as the query benchmarks time it: on a lake location, with the result cache
 * off and a fixed clock, asked in-process (`app.request`, no socket).
 */
import { tmpdir } from 'node:os';
import { MemoryCache } from '../core/adapters/memory/cache.ts';
import type { LakeLocation } from '../core/adapters/select.ts';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { StatusBoard } from '../core/status-board.ts';
import { createApp } from '../lake-query/http/app.ts';
import { Lake } from '../lake-query/lake.ts';
import { createLakeQueries } from '../lake-query/queries.ts';
import { warmUp, type WarmUpReport } from '../lake-query/warm-up.ts';

export type BenchApp = ReturnType<typeof createApp>;

/**
 * A fresh Lake (its first answer is a cold one) and the app over it. `warmUp` runs lake-query's
 * start-up warm-up on the Lake at the app's clock, with `symbol` as the symbol the dashboard opens
 * on; `close` closes the Lake.
 */
export async function openBenchApp(
  location: LakeLocation,
  options: { queryTimeoutMs: number; memoryLimit: string; now: number },
): Promise<{ app: BenchApp; warmUp: (symbol: string) => Promise<WarmUpReport>; close: () => Promise<void> }> {
  const metrics = new Metrics();
  const lake = await Lake.open(
    location,
    { queryTimeoutMs: options.queryTimeoutMs, memoryLimit: options.memoryLimit, threads: 2, connections: 2 },
    silentLogger,
    metrics,
  );
  const app = createApp({
    queries: createLakeQueries(lake),
    lake,
    checks: { lake },
    statusBoard: new StatusBoard(new MemoryCache()),
    metrics,
    dashboardDir: tmpdir(),
    synthetic: true,
    log: silentLogger,
    cacheTtlMs: 0,
    now: () => options.now,
  });
  return { app, warmUp: (symbol) => warmUp(lake, { now: options.now, symbol }), close: () => lake.close() };
}

/** Milliseconds from asking `path` to the last byte of a 200 answer; any other status throws with the answer. */
export async function timeRequest(app: BenchApp, path: string): Promise<number> {
  const started = performance.now();
  const response = await app.request(path);
  if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
  return performance.now() - started;
}

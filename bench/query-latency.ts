/**
 * `tsx bench/query-latency.ts [--rows 10000000] [--days 365] [--runs 20]`: builds a DuckLake lake
 * of `rows` prices in a temp folder (SQLite catalog, `days` days, 8 symbols, the rows and their
 * `candles_1m` partials committed together: bench/price-lake.ts), then measures the dashboard's
 * queries through the HTTP API (`app.request()`, the whole Hono stack with the result cache): cold
 * (cache off, first ask after open) and warm (cache on, repeated asks). Prints a table and writes
 * bench/results/query-latency.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { LakeLocation } from '../core/adapters/select.ts';
import { resolveExtensionDir } from '../core/lake-location.ts';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { MemoryCache } from '../core/adapters/memory/cache.ts';
import { StatusBoard } from '../core/status-board.ts';
import { Lake } from '../lake-query/lake.ts';
import { createLakeQueries } from '../lake-query/queries.ts';
import { createApp } from '../lake-query/http/app.ts';
import { BENCH_SYMBOLS, buildPriceLake } from './price-lake.ts';
import { localLake } from './support.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    days: { type: 'string', default: '365' },
    runs: { type: 'string', default: '20' },
  },
});
const ROWS = Number(values.rows);
const DAYS = Number(values.days);
const RUNS = Number(values.runs);
const END = Date.UTC(2026, 2, 1);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function openApp(location: LakeLocation, root: string, cacheTtlMs: number) {
  const metrics = new Metrics();
  const lake = await Lake.open(location, { queryTimeoutMs: 60_000, memoryLimit: '2GB', threads: 4, connections: 4 }, silentLogger, metrics);
  const cache = new MemoryCache();
  const app = createApp({
    queries: createLakeQueries(lake),
    lake,
    checks: { lake },
    statusBoard: new StatusBoard(cache),
    metrics,
    dashboardDir: root,
    synthetic: true,
    log: silentLogger,
    cacheTtlMs,
    now: () => END,
  });
  return { app, close: () => lake.close() };
}

const QUERIES: Record<string, string> = {
  latest: '/api/latest',
  '1-day 1m candles': `/api/candles?symbol=BTC&interval=1m&from=${END - 86_400_000}&to=${END}`,
  '1-year 1d candles': `/api/candles?symbol=BTC&interval=1d&from=${END - 365 * 86_400_000}&to=${END}`,
  partitions: '/api/partitions',
};

const root = await mkdtemp(join(tmpdir(), 'cryptolake-bench-lake-'));
const location = localLake(root, resolveExtensionDir({ duckdbExtensionDir: process.env.DUCKDB_EXTENSION_DIR }));
try {
  const built = await buildPriceLake(location, { rows: ROWS, days: DAYS, end: END });
  console.log(`Built the lake in ${built.seconds} s: ${built.files} data files of prices, ${(built.bytes / 1e6).toFixed(1)} MB`);
  const { rows, files } = built;
  const results: Record<string, { coldP50: number; coldP95: number; warmP50: number; warmP95: number }> = {};
  for (const [name, path] of Object.entries(QUERIES)) {
    const time = async (app: Awaited<ReturnType<typeof openApp>>['app']) => {
      const started = performance.now();
      const response = await app.request(path);
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
      return performance.now() - started;
    };
    // Cold: the cache off, so every ask reaches DuckDB, the catalog and the Parquet files.
    const cold: number[] = [];
    const uncached = await openApp(location, root, 0);
    for (let i = 0; i < RUNS; i++) cold.push(await time(uncached.app));
    await uncached.close();
    // Warm: the result cache on, as the dashboard's repeated asks see it.
    const warm: number[] = [];
    const cached = await openApp(location, root, 60_000);
    await time(cached.app);
    for (let i = 0; i < RUNS; i++) warm.push(await time(cached.app));
    await cached.close();
    cold.sort((a, b) => a - b);
    warm.sort((a, b) => a - b);
    results[name] = {
      coldP50: percentile(cold, 50),
      coldP95: percentile(cold, 95),
      warmP50: percentile(warm, 50),
      warmP95: percentile(warm, 95),
    };
  }
  const fmt = (ms: number) => ms.toFixed(ms < 10 ? 2 : 1).padStart(9);
  console.log(
    `\nlake: ${rows.toLocaleString('en-US')} rows in ${files} files, ${DAYS} days, ${BENCH_SYMBOLS.length} symbols; ${RUNS} runs each; times in ms`,
  );
  console.log(
    `${'query'.padEnd(20)} ${'cold p50'.padStart(9)} ${'cold p95'.padStart(9)} ${'warm p50'.padStart(9)} ${'warm p95'.padStart(9)}`,
  );
  for (const [name, r] of Object.entries(results))
    console.log(`${name.padEnd(20)} ${fmt(r.coldP50)} ${fmt(r.coldP95)} ${fmt(r.warmP50)} ${fmt(r.warmP95)}`);
  await mkdir('bench/results', { recursive: true });
  const report = {
    rows,
    files,
    catalog: 'sqlite',
    buildSeconds: built.seconds,
    days: DAYS,
    symbols: BENCH_SYMBOLS.length,
    runs: RUNS,
    node: process.version,
    at: new Date().toISOString(),
    results,
  };
  await writeFile('bench/results/query-latency.json', `${JSON.stringify(report, null, 2)}\n`);
  console.log('\nWrote bench/results/query-latency.json');
} finally {
  await rm(root, { recursive: true, force: true });
}

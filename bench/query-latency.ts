/**
 * `tsx bench/query-latency.ts [--rows 10000000] [--days 365] [--runs 20]`: builds a lake of
 * `rows` prices (DuckDB COPY ... PARTITION_BY (year, month, day) into a temp folder, `days` days,
 * 8 symbols), then measures the dashboard's queries through the HTTP API (`app.request()`, the
 * whole Hono stack with the result cache): cold (cache off, first ask after open) and warm
 * (cache on, repeated asks). Prints a table and writes bench/results/query-latency.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { MemoryCache } from '../core/adapters/memory/cache.ts';
import { StatusBoard } from '../core/status-board.ts';
import { Lake } from '../lake-query/lake.ts';
import { createLakeQueries } from '../lake-query/queries.ts';
import { createApp } from '../lake-query/http/app.ts';

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
const SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP', 'ADA', 'DOGE', 'DOT', 'LTC'];
const END = Date.UTC(2026, 2, 1);

async function buildLake(root: string): Promise<number> {
  const started = performance.now();
  const instance = await DuckDBInstance.create(':memory:', { threads: '4', memory_limit: '4GB' });
  const db = await instance.connect();
  const stepMs = Math.floor((DAYS * 86_400_000 * SYMBOLS.length) / ROWS);
  await db.run(`
    COPY (
      SELECT s.symbol || ':' || r.range AS id, t.ts, s.symbol, 'synthetic' AS source,
             s.base * (1 + 0.2 * sin(r.range / 50000.0) + 0.01 * sin(r.range / 7.0)) AS price_usd,
             1e9::DOUBLE AS volume_24h_usd, NULL::DOUBLE AS market_cap_usd, 0.5::DOUBLE AS change_24h_pct,
             t.ts AS ingested_at, year(t.ts) AS year, month(t.ts) AS month, day(t.ts) AS day
        FROM range(${Math.ceil(ROWS / SYMBOLS.length)}) r,
             (VALUES ${SYMBOLS.map((s, i) => `('${s}', ${10 ** (4 - i / 2)})`).join(', ')}) s(symbol, base),
             LATERAL (SELECT make_timestamp((${END - DAYS * 86_400_000} + r.range * ${stepMs})::BIGINT * 1000) AS ts) t
    ) TO '${root}/prices' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (year, month, day), FILENAME_PATTERN 'part-bench-{i}')`);
  const count = await db.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet('${root}/prices/**/*.parquet')`);
  db.closeSync();
  instance.closeSync();
  console.log(`Built the lake in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return Number(count.getRowObjectsJS()[0]!.n);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function openApp(root: string, cacheTtlMs: number) {
  const metrics = new Metrics();
  const lake = await Lake.open(
    { kind: 'local', root, synthetic: true },
    { queryTimeoutMs: 60_000, memoryLimit: '2GB', threads: 4, connections: 4 },
    silentLogger,
    metrics,
  );
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
try {
  const rows = await buildLake(root);
  const results: Record<string, { coldP50: number; coldP95: number; warmP50: number; warmP95: number }> = {};
  for (const [name, path] of Object.entries(QUERIES)) {
    const time = async (app: Awaited<ReturnType<typeof openApp>>['app']) => {
      const started = performance.now();
      const response = await app.request(path);
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
      return performance.now() - started;
    };
    // Cold: the cache off, so every ask reaches DuckDB and the Parquet files.
    const cold: number[] = [];
    const uncached = await openApp(root, 0);
    for (let i = 0; i < RUNS; i++) cold.push(await time(uncached.app));
    await uncached.close();
    // Warm: the result cache on, as the dashboard's repeated asks see it.
    const warm: number[] = [];
    const cached = await openApp(root, 60_000);
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
  console.log(`\nlake: ${rows.toLocaleString('en-US')} rows, ${DAYS} days, ${SYMBOLS.length} symbols; ${RUNS} runs each; times in ms`);
  console.log(
    `${'query'.padEnd(20)} ${'cold p50'.padStart(9)} ${'cold p95'.padStart(9)} ${'warm p50'.padStart(9)} ${'warm p95'.padStart(9)}`,
  );
  for (const [name, r] of Object.entries(results))
    console.log(`${name.padEnd(20)} ${fmt(r.coldP50)} ${fmt(r.coldP95)} ${fmt(r.warmP50)} ${fmt(r.warmP95)}`);
  await mkdir('bench/results', { recursive: true });
  const report = { rows, days: DAYS, symbols: SYMBOLS.length, runs: RUNS, node: process.version, at: new Date().toISOString(), results };
  await writeFile('bench/results/query-latency.json', `${JSON.stringify(report, null, 2)}\n`);
  console.log('\nWrote bench/results/query-latency.json');
} finally {
  await rm(root, { recursive: true, force: true });
}

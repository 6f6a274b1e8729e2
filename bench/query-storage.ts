/**
 * The dashboard's queries over the same lake on local files and on MinIO, and the floor:
 *
 *   npx tsx bench/query-storage.ts [--rows 1000000,10000000] [--days 90] [--runs 10] [--quick]   (--quick = 1 000 000 rows, 5 runs)
 *
 * For each size: builds a lake of `rows` prices over `days` days and 8 symbols (one Snappy file per
 * day, DuckDB COPY ... PARTITION_BY), uploads the same files to MinIO under
 * `bench/query-storage-<id>/`, then for each storage runs the queries through the HTTP app
 * (`app.request()`, result cache off):
 *  - cold: the first ask after opening a fresh Lake (new DuckDB, no metadata cached), `runs` opens;
 *  - warm: `runs` repeated asks on one open Lake.
 * The floor: equivalent SQL straight in DuckDB over ONE local Parquet file holding the same rows
 * (warm, `runs` asks). p50/p95 in ms. Writes bench/results/query-storage.json; the S3 prefix and
 * temp folders are deleted.
 */
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { LakeLocation } from '../core/adapters/select.ts';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { MemoryCache } from '../core/adapters/memory/cache.ts';
import { StatusBoard } from '../core/status-board.ts';
import { Lake } from '../lake-query/lake.ts';
import { createLakeQueries } from '../lake-query/queries.ts';
import { createApp } from '../lake-query/http/app.ts';
import { stack, type StackEnv } from '../tests/support/stack.ts';
import { deletePrefix, percentile, round, s3Client, writeResult } from './support.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string' },
    days: { type: 'string', default: '90' },
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const SIZES = (values.rows ?? (values.quick ? '1000000' : '1000000,10000000')).split(',').map(Number);
const DAYS = Number(values.days);
const RUNS = Number(values.runs ?? (values.quick ? 5 : 10));
const SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP', 'ADA', 'DOGE', 'DOT', 'LTC'];
const END = Date.UTC(2026, 2, 1);
const DAY = 86_400_000;
const id = Date.now().toString(36);

const QUERIES: Record<string, string> = {
  latest: '/api/latest',
  '1-day 1m candles': `/api/candles?symbol=BTC&interval=1m&from=${END - DAY}&to=${END}`,
  [`${DAYS}-day 1d candles`]: `/api/candles?symbol=BTC&interval=1d&from=${END - DAYS * DAY}&to=${END}`,
  partitions: '/api/partitions',
};

/** The floor: what each query asks, as plain SQL over one file (`{file}`). */
const FLOOR_SQL: Record<string, string> = {
  latest: `SELECT symbol, arg_max(price_usd, ts) AS price, max(ts) AS ts FROM '{file}' GROUP BY symbol`,
  '1-day 1m candles': `SELECT date_trunc('minute', ts) AS t, arg_min(price_usd, ts) AS open, max(price_usd) AS high, min(price_usd) AS low,
         arg_max(price_usd, ts) AS close FROM '{file}' WHERE symbol = 'BTC' AND ts >= make_timestamp(${(END - DAY) * 1000})
         AND ts < make_timestamp(${END * 1000}) GROUP BY 1 ORDER BY 1`,
  [`${DAYS}-day 1d candles`]: `SELECT date_trunc('day', ts) AS t, arg_min(price_usd, ts) AS open, max(price_usd) AS high, min(price_usd) AS low,
         arg_max(price_usd, ts) AS close FROM '{file}' WHERE symbol = 'BTC' AND ts >= make_timestamp(${(END - DAYS * DAY) * 1000})
         AND ts < make_timestamp(${END * 1000}) GROUP BY 1 ORDER BY 1`,
  partitions: `SELECT year(ts), month(ts), day(ts), count(*) FROM '{file}' GROUP BY ALL ORDER BY ALL`,
};

type Stats = { p50: number; p95: number };
const stats = (times: number[]): Stats => ({ p50: round(percentile(times, 50), 2), p95: round(percentile(times, 95), 2) });

/** The lake under `root/prices/` (one file per day) and the same rows in `root/one.parquet`. */
async function buildLake(root: string, rows: number): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '4GB' });
  const db = await instance.connect();
  const stepMs = Math.floor((DAYS * DAY * SYMBOLS.length) / rows);
  await db.run(`
    CREATE TABLE t AS
      SELECT s.symbol || ':' || r.range AS id, t.ts, s.symbol, 'synthetic' AS source,
             s.base * (1 + 0.2 * sin(r.range / 50000.0) + 0.01 * sin(r.range / 7.0)) AS price_usd,
             1e9::DOUBLE AS volume_24h_usd, NULL::DOUBLE AS market_cap_usd, 0.5::DOUBLE AS change_24h_pct, t.ts AS ingested_at
        FROM range(${Math.ceil(rows / SYMBOLS.length)}) r,
             (VALUES ${SYMBOLS.map((s, i) => `('${s}', ${10 ** (4 - i / 2)})`).join(', ')}) s(symbol, base),
             LATERAL (SELECT make_timestamp((${END - DAYS * DAY} + r.range * ${stepMs})::BIGINT * 1000) AS ts) t`);
  await db.run(`COPY (SELECT *, year(ts) AS year, month(ts) AS month, day(ts) AS day FROM t) TO '${root}/prices'
                  (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (year, month, day), FILENAME_PATTERN 'part-bench-{i}')`);
  await db.run(`COPY (SELECT * FROM t ORDER BY ts) TO '${root}/one.parquet' (FORMAT parquet, COMPRESSION snappy)`);
  db.closeSync();
  instance.closeSync();
}

async function upload(env: StackEnv, root: string, prefix: string): Promise<number> {
  const s3 = s3Client(env);
  const files = (await readdir(`${root}/prices`, { recursive: true })).filter((file) => file.endsWith('.parquet'));
  for (const file of files) {
    const key = `${prefix}/prices/${relative('.', file)}`;
    await s3.send(new PutObjectCommand({ Bucket: env.S3_BUCKET, Key: key, Body: await readFile(`${root}/prices/${file}`) }));
  }
  return files.length;
}

async function openApp(location: LakeLocation, extensionDirectory: string) {
  const metrics = new Metrics();
  const lake = await Lake.open(
    location,
    { queryTimeoutMs: 120_000, memoryLimit: '2GB', threads: 2, connections: 2, extensionDirectory },
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
    now: () => END,
  });
  return { app, close: () => lake.close() };
}

async function timeRequest(app: Awaited<ReturnType<typeof openApp>>['app'], path: string): Promise<number> {
  const started = performance.now();
  const response = await app.request(path);
  if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
  return performance.now() - started;
}

/** Cold (first ask of a fresh Lake, RUNS opens) and warm (RUNS asks on one Lake) per query. */
async function measureStorage(location: LakeLocation, extensionDir: string): Promise<Record<string, { cold: Stats; warm: Stats }>> {
  const results: Record<string, { cold: Stats; warm: Stats }> = {};
  for (const [name, path] of Object.entries(QUERIES)) {
    const cold: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      const opened = await openApp(location, extensionDir);
      cold.push(await timeRequest(opened.app, path));
      await opened.close();
    }
    const opened = await openApp(location, extensionDir);
    await timeRequest(opened.app, path);
    const warm: number[] = [];
    for (let i = 0; i < RUNS; i += 1) warm.push(await timeRequest(opened.app, path));
    await opened.close();
    results[name] = { cold: stats(cold), warm: stats(warm) };
  }
  return results;
}

async function measureFloor(file: string): Promise<Record<string, Stats>> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '2GB' });
  const db = await instance.connect();
  const results: Record<string, Stats> = {};
  for (const [name, template] of Object.entries(FLOOR_SQL)) {
    const sql = template.replaceAll('{file}', file);
    await db.runAndReadAll(sql);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      const started = performance.now();
      await db.runAndReadAll(sql);
      times.push(performance.now() - started);
    }
    results[name] = stats(times);
  }
  db.closeSync();
  instance.closeSync();
  return results;
}

const env = await stack();
const endpoint = new URL(env.S3_ENDPOINT);
const sizes = [];
for (const rows of SIZES) {
  const root = await mkdtemp(join(tmpdir(), 'cryptolake-bench-storage-'));
  const prefix = `bench/query-storage-${id}-${rows}`;
  try {
    await buildLake(root, rows);
    const files = await upload(env, root, prefix);
    const s3: LakeLocation = {
      kind: 's3',
      bucket: env.S3_BUCKET,
      prefix: `${prefix}/`,
      endpoint: endpoint.host,
      useSsl: endpoint.protocol === 'https:',
      region: env.S3_REGION,
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      synthetic: true,
    };
    const local = await measureStorage({ kind: 'local', root, synthetic: true }, env.DUCKDB_EXTENSION_DIR);
    const minio = await measureStorage(s3, env.DUCKDB_EXTENSION_DIR);
    const floor = await measureFloor(`${root}/one.parquet`);
    const entry = { rows, files, local, minio, floor };
    process.stderr.write(`${JSON.stringify(entry)}\n`);
    sizes.push(entry);
  } finally {
    await deletePrefix(s3Client(env), env.S3_BUCKET, `${prefix}/`);
    await rm(root, { recursive: true, force: true });
  }
}
await writeResult(values.quick ? 'query-storage-quick' : 'query-storage', {
  rows: SIZES.at(-1),
  days: DAYS,
  runs: RUNS,
  symbols: SYMBOLS.length,
  sizes,
  node: process.version,
  at: new Date().toISOString(),
});

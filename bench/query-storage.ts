/**
 * The dashboard's queries over the same DuckLake lake on one machine and on the services, and the
 * floor:
 *
 *   npx tsx bench/query-storage.ts [--rows 1000000,10000000] [--days 90] [--runs 10] [--quick]   (--quick = 1 000 000 rows, 5 runs)
 *
 * For each size: builds the same lake of `rows` prices over `days` days and 8 symbols twice,
 * through DuckLake tables (bench/price-lake.ts: the rows and their candles_1m partials committed
 * together, one Snappy file per day): `local`, the embedded lake (SQLite catalog file, data in a
 * local folder), and `minio`, the lake of the services (PostgreSQL catalog in a schema of its own,
 * data in MinIO under `bench/query-storage-<id>-<rows>/`). Then for each lake it runs the queries
 * through the HTTP app (`app.request()`, result cache off):
 *  - cold: the first ask after opening a fresh Lake (new DuckDB, catalog attached anew), `runs` opens;
 *  - warm: `runs` repeated asks on one open Lake.
 * The floor: equivalent SQL straight in DuckDB over ONE local Parquet file holding the same rows,
 * sorted by time (warm, `runs` asks). p50/p95 in ms. Writes bench/results/query-storage.json; the
 * S3 prefix, the catalog schema and the temp folders are deleted.
 */
import { tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import type { LakeLocation } from '../core/adapters/select.ts';
import { stack } from '../tests/support/stack.ts';
import { BENCH_SYMBOLS, buildPriceLake, priceRowsSql, type PriceLakeShape } from './price-lake.ts';
import { openBenchApp, timeRequest } from './http-app.ts';
import { localLake, percentile, timeStatements, removeStackLake, round, stackLake, writeResult } from './support.ts';

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

/** The floor's file: the lake's rows in one Snappy Parquet file, sorted by time. */
async function writeOneFile(file: string, shape: PriceLakeShape): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '2GB' });
  const db = await instance.connect();
  try {
    await db.run(`COPY (${priceRowsSql(shape)} ORDER BY ts) TO '${file}' (FORMAT parquet, COMPRESSION snappy)`);
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

/** The app on `location`, as every query benchmark opens it. */
const openApp = (location: LakeLocation) => openBenchApp(location, { queryTimeoutMs: 120_000, memoryLimit: '2GB', now: END });

/** Cold (first ask of a fresh Lake, RUNS opens) and warm (RUNS asks on one Lake) per query. */
async function measureStorage(location: LakeLocation): Promise<Record<string, { cold: Stats; warm: Stats }>> {
  const results: Record<string, { cold: Stats; warm: Stats }> = {};
  for (const [name, path] of Object.entries(QUERIES)) {
    const cold: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      const opened = await openApp(location);
      cold.push(await timeRequest(opened.app, path));
      await opened.close();
    }
    const opened = await openApp(location);
    await timeRequest(opened.app, path);
    const warm: number[] = [];
    for (let i = 0; i < RUNS; i += 1) warm.push(await timeRequest(opened.app, path));
    await opened.close();
    results[name] = { cold: stats(cold), warm: stats(warm) };
  }
  return results;
}

async function measureFloor(file: string): Promise<Record<string, Stats>> {
  const statements = Object.fromEntries(Object.entries(FLOOR_SQL).map(([name, template]) => [name, template.replaceAll('{file}', file)]));
  const times = await timeStatements(statements, RUNS);
  return Object.fromEntries(Object.entries(times).map(([name, runs]) => [name, stats(runs)]));
}

const env = await stack();
const sizes = [];
for (const rows of SIZES) {
  const root = await mkdtemp(join(tmpdir(), 'cryptolake-bench-storage-'));
  const name = `query-storage-${id}-${rows}`;
  const shape = { rows, days: DAYS, end: END };
  try {
    const local = localLake(join(root, 'lake'), env.DUCKDB_EXTENSION_DIR);
    const services = await stackLake(env, name);
    const built = { local: await buildPriceLake(local, shape), minio: await buildPriceLake(services, shape) };
    await writeOneFile(join(root, 'one.parquet'), shape);
    process.stderr.write(`built ${JSON.stringify(built)}\n`);
    const entry = {
      rows: built.local.rows,
      files: built.local.files,
      bytes: built.local.bytes,
      buildSeconds: { local: built.local.seconds, minio: built.minio.seconds },
      local: await measureStorage(local),
      minio: await measureStorage(services),
      floor: await measureFloor(join(root, 'one.parquet')),
    };
    process.stderr.write(`${JSON.stringify(entry)}\n`);
    sizes.push(entry);
  } finally {
    await removeStackLake(env, name);
    await rm(root, { recursive: true, force: true });
  }
}
await writeResult(values.quick ? 'query-storage-quick' : 'query-storage', {
  rows: SIZES.at(-1),
  days: DAYS,
  runs: RUNS,
  symbols: BENCH_SYMBOLS.length,
  storages: {
    local: 'DuckLake, SQLite catalog file, data in a local folder',
    minio: 'DuckLake, PostgreSQL catalog (local stack), data in MinIO (local stack)',
    floor: 'one local Parquet file of the same rows sorted by time, plain DuckDB SQL',
  },
  sizes,
  node: process.version,
  at: new Date().toISOString(),
});

/**
 * What the benchmarks share: the record generator, medians and percentiles, CPU time and peak RSS
 * of a child process from /proc, a Kafka topic filled fast through the Kafka bus, the removal of an S3 prefix,
 * the lakes a benchmark writes (a local one with a SQLite catalog, or one on the stack: PostgreSQL
 * catalog, MinIO data) and their removal, and writing the JSON result to bench/results/<name>.json.
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client, ListObjectsV2Command, DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { sqlIdent, sqlString } from '../core/adapters/ducklake/attach.ts';
import { KafkaBus } from '../core/adapters/kafka/bus.ts';
import { openAdapters, type LakeLocation } from '../core/adapters/select.ts';
import { EMBEDDED_CATALOG_FILE } from '../core/lake-location.ts';
import { silentLogger } from '../core/log.ts';
import { toPriceRecord, type PriceRecord } from '../core/records/price.ts';
import type { StackEnv } from '../tests/support/stack.ts';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP', 'ADA', 'DOGE', 'DOT', 'LTC'];
const START = Date.UTC(2026, 10, 20);

/** Record `i` of a deterministic stream: 8 symbols, 40 ms apart (1 M records span about half a day). */
export function benchRecord(i: number, ingestedAt = START + i * 40 + 50): PriceRecord {
  const symbol = SYMBOLS[i % SYMBOLS.length]!;
  return toPriceRecord(
    { source: 'binance', symbol, ts: START + i * 40, price_usd: 100 + (i % 1000), volume_24h_usd: 1e9, change_24h_pct: 1.5 },
    ingestedAt,
  );
}

/** The middle value (mean of the two middle ones for an even count): the project's one median. */
export { median } from '../core/median.ts';

/** The nearest-rank percentile `p` (0-100) of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** User + system CPU seconds a live process has used so far, from /proc/<pid>/stat (0 when it is gone). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may hold spaces) start at state = field 3; utime, stime are 14, 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100;
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / ticksPerSecond;
}

/** The machine's CPU time so far in clock ticks, all cores: busy (every state but idle and iowait) and total. */
export async function machineCpu(): Promise<{ busy: number; total: number }> {
  const [line] = (await readFile('/proc/stat', 'utf8')).split('\n');
  const ticks = line!.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  return { busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total };
}

/** Cores busy on average between two readings of `machineCpu` (every process: the consumer, the broker, MinIO, the catalog). */
export function busyCores(before: { busy: number; total: number }, after: { busy: number; total: number }): number {
  const total = after.total - before.total;
  return total > 0 ? ((after.busy - before.busy) / total) * cpus().length : 0;
}

/**
 * Peak resident memory of a live process so far in MiB (VmHWM of /proc/<pid>/status; 0 when it is
 * gone). `resetPeakRss` starts the peak of this process again from its current RSS.
 */
export async function peakRssMib(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/**
 * The floor a route is compared with: each statement timed `runs` times after one warm-up, on one
 * fresh in-memory DuckDB (2 threads, 2 GB), in ms.
 */
export async function timeStatements(statements: Record<string, string>, runs: number): Promise<Record<string, number[]>> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '2GB' });
  const db = await instance.connect();
  try {
    const times: Record<string, number[]> = {};
    for (const [name, sql] of Object.entries(statements)) {
      await db.runAndReadAll(sql);
      times[name] = [];
      for (let i = 0; i < runs; i += 1) {
        const started = performance.now();
        await db.runAndReadAll(sql);
        times[name].push(performance.now() - started);
      }
    }
    return times;
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

/** Resets this process's VmHWM to its current RSS (Linux `clear_refs` 5), so `peakRssMib` measures what follows. */
export async function resetPeakRss(): Promise<void> {
  await writeFile('/proc/self/clear_refs', '5');
}

/**
 * Produces records `0..count-1` of `benchRecord` to `topic` through the Kafka bus (idempotent,
 * acks = all, no compression): sends of `batchSize`, up to 8 in flight, keyed by symbol.
 * Resolves with the seconds it took.
 */
export async function fillTopic(brokers: string[], topic: string, count: number, batchSize = 3_000): Promise<number> {
  const bus = new KafkaBus({ brokers, clientId: 'bench-fill', log: silentLogger });
  try {
    await bus.endOffsets(topic);
    const started = performance.now();
    const inFlight: Promise<unknown>[] = [];
    for (let first = 0; first < count; first += batchSize) {
      const messages = [];
      for (let i = first; i < Math.min(count, first + batchSize); i += 1) {
        const record = benchRecord(i);
        messages.push({ key: record.symbol, value: JSON.stringify(record) });
      }
      inFlight.push(bus.publish(topic, messages));
      if (inFlight.length >= 8) await inFlight.shift();
    }
    await Promise.all(inFlight);
    return (performance.now() - started) / 1000;
  } finally {
    await bus.close();
  }
}

/** The variables that point a part at the stack's Kafka and MinIO, for a child process's env. */
export function stackServiceEnv(env: StackEnv): Record<string, string> {
  return {
    KAFKA_BROKERS: env.KAFKA_BROKERS,
    S3_ENDPOINT: env.S3_ENDPOINT,
    S3_BUCKET: env.S3_BUCKET,
    S3_REGION: env.S3_REGION,
    AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
  };
}

/**
 * The variables of a benchmark's own lake on the stack: data under `bench/<name>/` in the bucket
 * (so `deletePrefix` may remove it) and the catalog in the PostgreSQL schema `bench_<name>`.
 * `name`: lower-case letters, digits and `_`/`-`. No bus: a part run as a process adds Kafka
 * (`stackServiceEnv`).
 */
export function stackLakeEnv(env: StackEnv, name: string): Record<string, string> {
  return {
    S3_ENDPOINT: env.S3_ENDPOINT,
    S3_BUCKET: env.S3_BUCKET,
    S3_REGION: env.S3_REGION,
    AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY,
    LAKE_CATALOG: env.LAKE_CATALOG,
    LAKE_CATALOG_SCHEMA: stackLakeSchema(name),
    DUCKDB_EXTENSION_DIR: env.DUCKDB_EXTENSION_DIR,
    S3_PREFIX: `bench/${name}`,
  };
}

const stackLakeSchema = (name: string) => `bench_${name.replace(/[^a-z0-9_]/g, '_')}`;

/** The location of a benchmark's own lake on the stack (see `stackLakeEnv`); the bucket is created when missing. */
export async function stackLake(env: StackEnv, name: string): Promise<LakeLocation> {
  const adapters = await openAdapters(stackLakeEnv(env, name), silentLogger);
  await adapters.close();
  return adapters.lake;
}

/** A lake in a local folder with its SQLite catalog inside, as `npm start` keeps it (`LAKE_DIR`). */
export function localLake(root: string, extensionDir: string | undefined): LakeLocation {
  return { kind: 'local', root, catalog: { kind: 'sqlite', path: join(root, EMBEDDED_CATALOG_FILE) }, extensionDir, synthetic: true };
}

/** Deletes a benchmark's lake on the stack: its objects under `bench/<name>/` and its catalog schema. */
export async function removeStackLake(env: StackEnv, name: string): Promise<void> {
  await deletePrefix(s3Client(env), env.S3_BUCKET, `bench/${name}/`);
  const instance = await DuckDBInstance.create(':memory:', {
    extension_directory: env.DUCKDB_EXTENSION_DIR,
    autoinstall_known_extensions: 'false',
    threads: '1',
  });
  const db = await instance.connect();
  try {
    await db.run('LOAD postgres_scanner');
    await db.run(`ATTACH ${sqlString(env.LAKE_CATALOG.replace(/^postgres:/, ''))} AS catalog (TYPE postgres)`);
    await db.run(`CALL postgres_execute('catalog', ${sqlString(`DROP SCHEMA IF EXISTS ${sqlIdent(stackLakeSchema(name))} CASCADE`)})`);
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

/** An S3 client for the stack's MinIO. */
export function s3Client(env: StackEnv): S3Client {
  return new S3Client({
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
}

/** Every object under `prefix`: key and size in bytes. */
export async function listPrefix(s3: S3Client, bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
  const objects: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) objects.push({ key: object.Key!, size: object.Size ?? 0 });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/** Deletes every object under `prefix` (which must start with `bench/`: nothing else is ours). */
export async function deletePrefix(s3: S3Client, bucket: string, prefix: string): Promise<void> {
  if (!prefix.startsWith('bench/')) throw new Error(`refusing to delete ${prefix}: benchmarks only delete under bench/`);
  const objects = await listPrefix(s3, bucket, prefix);
  for (let i = 0; i < objects.length; i += 1000) {
    const chunk = objects.slice(i, i + 1000).map((object) => ({ Key: object.key }));
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: chunk } }));
  }
}

/** Writes `result` to bench/results/<name>.json and prints it. */
export async function writeResult(name: string, result: unknown): Promise<void> {
  const json = `${JSON.stringify(result, null, 2)}\n`;
  await mkdir(`${ROOT}/bench/results`, { recursive: true });
  await writeFile(`${ROOT}/bench/results/${name}.json`, json);
  process.stdout.write(`Wrote bench/results/${name}.json\n`);
}

/** Rounds to `digits` decimals, for readable JSON. */
export const round = (value: number, digits = 0) => Number(value.toFixed(digits));

/**
 * Ingest throughput and its ceiling, on the shared local stack (Kafka, and the lake of the
 * services: PostgreSQL catalog, MinIO data):
 *
 *   npx tsx bench/ingest.ts [--records 1000000] [--runs 3] [--quick]   (--quick = 200 000 records, 1 run)
 *
 * Fills one 6-partition topic with `--records` records of the real shape (the Kafka bus, big sends),
 * then, `--runs` times each, measures:
 *  - one processor (a real `processor/main.ts` process) and two processors in one consumer group,
 *    each run into a new lake of its own (catalog schema and S3 prefix): seconds from spawn until
 *    the group's committed offsets reach the end offsets (the processor records them on the bus
 *    after its lake commit), records/s, CPU seconds per million records (user+sys from
 *    /proc/<pid>/stat, summed over the processes), and bytes of Parquet of `prices` per million
 *    records (from the catalog, which must hold every record once);
 *  - Kafka's own consumer (`kafka-tools` ConsumerPerformance, a fresh group) on the same topic;
 *  - DuckDB alone: the same rows as NDJSON -> one DuckLake transaction on a new lake of the same
 *    kind (`INSERT INTO lake.prices` and the candle rollups at every grain, as the processor's commit).
 * Medians of the runs; our records/s as a fraction of each ceiling. Every S3 prefix is under
 * `bench/ingest-<id>/` and every catalog schema is `bench_ingest_<id>_*`: both are deleted at the
 * end; the topics stay. Writes bench/results/ingest.json.
 */
import { spawn, execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { promisify, parseArgs } from 'node:util';
import { LAKE, sqlString } from '../core/adapters/ducklake/attach.ts';
import { LakeSession } from '../core/adapters/ducklake/session.ts';
import { ensureLakeTables, tableRef } from '../core/adapters/ducklake/tables.ts';
import { KafkaBus } from '../core/adapters/kafka/bus.ts';
import { prices } from '../core/datasets/index.ts';
import { silentLogger } from '../core/log.ts';
import { rollupStatements } from '../core/adapters/ducklake/rollups.ts';
import { stack, type StackEnv } from '../tests/support/stack.ts';
import {
  ROOT,
  benchRecord,
  cpuSeconds,
  deletePrefix,
  fillTopic,
  median,
  removeStackLake,
  round,
  s3Client,
  sleep,
  stackLake,
  stackLakeEnv,
  stackServiceEnv,
  writeResult,
} from './support.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string' },
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const RECORDS = Number(values.records ?? (values.quick ? 200_000 : 1_000_000));
const RUNS = Number(values.runs ?? (values.quick ? 1 : 3));
const PARTITIONS = 6;
const id = `${Date.now().toString(36)}`;
const topic = `bench-ingest-${id}`;
/** Every topic the processor reads: this benchmark's own, so the stack's other topics stay out of its lake. */
const TOPICS = {
  KAFKA_TOPIC: topic,
  DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
  ALERTS_TOPIC: `${topic}.alerts`,
  TRADES_TOPIC: `${topic}.trades`,
  GAPS_TOPIC: `${topic}.gaps`,
};
/** The lakes of this benchmark: `bench/ingest-<id>/<run>/` in the bucket, schema `bench_ingest_<id>_<run>`. */
const lakeName = (run: string) => `ingest-${id}/${run}`;
const lakes: string[] = [];

interface ProcessorRun {
  seconds: number;
  recordsPerSecond: number;
  cpuSecondsPerMillion: number;
  parquetBytesPerMillion: number;
  files: number;
}

/** Runs `count` processors in one fresh group over the topic until the group has committed everything. */
async function runProcessors(env: StackEnv, bus: KafkaBus, count: number, run: string): Promise<ProcessorRun> {
  const group = `bench-ingest-${id}-${run}`;
  const lake = lakeName(run);
  lakes.push(lake);
  const ends = await bus.endOffsets(topic);
  const started = performance.now();
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ['--import', 'tsx', 'processor/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...stackServiceEnv(env),
        ...stackLakeEnv(env, lake),
        // No REDIS_URL: the status stays in-process, away from the shared stack's keys.
        LOG_LEVEL: 'fatal',
        NODE_NO_WARNINGS: '1',
        ...TOPICS,
        KAFKA_GROUP: group,
        KAFKA_PARTITIONS: String(PARTITIONS),
        FLUSH_MAX_RECORDS: '100000',
      },
      stdio: ['ignore', 2, 'inherit'],
    }),
  );
  let cpu = 0;
  const deadline = started + 600_000;
  for (;;) {
    await sleep(200);
    if (children.some((child) => child.exitCode !== null)) throw new Error('a processor exited before the end of the topic');
    if (performance.now() > deadline) throw new Error('the processors did not reach the end of the topic in 10 minutes');
    // The group's coordinator may not be known yet: a failed look-up is just "not done".
    const committed = await bus.committedOffsets(group, topic).catch(() => new Map<number, number>());
    if ([...ends].every(([partition, end]) => end === 0 || committed.get(partition) === end)) break;
  }
  const seconds = (performance.now() - started) / 1000;
  for (const child of children) cpu += await cpuSeconds(child.pid!);
  await Promise.all(children.map((child) => (child.kill('SIGTERM'), once(child, 'exit'))));
  const { rows, files, bytes } = await pricesInLake(env, lake);
  if (rows !== RECORDS) throw new Error(`the lake of ${run} holds ${rows} prices rows, not the ${RECORDS} records published`);
  await removeStackLake(env, lake);
  const millions = RECORDS / 1e6;
  return {
    seconds: round(seconds, 2),
    recordsPerSecond: Math.round(RECORDS / seconds),
    cpuSecondsPerMillion: round(cpu / millions, 1),
    parquetBytesPerMillion: Math.round(bytes / millions),
    files,
  };
}

/** Distinct ids of `prices` in a lake, and its data files and their bytes, as the catalog lists them. */
async function pricesInLake(env: StackEnv, name: string): Promise<{ rows: number; files: number; bytes: number }> {
  const session = await LakeSession.open(await stackLake(env, name), { readOnly: true, threads: 2 });
  try {
    const db = await session.connect();
    const [row] = (
      await db.runAndReadAll(
        `SELECT (SELECT count(DISTINCT id) FROM ${tableRef(prices.name)})::DOUBLE AS rows, count(*)::DOUBLE AS files,
                coalesce(sum(data_file_size_bytes), 0)::DOUBLE AS bytes
           FROM ducklake_list_files(${sqlString(LAKE)}, ${sqlString(prices.name)})`,
      )
    ).getRowObjectsJS();
    return { rows: Number(row!.rows), files: Number(row!.files), bytes: Number(row!.bytes) };
  } finally {
    session.close();
  }
}

/** Kafka's own consumer (Java, kafka-tools) over the topic in a fresh group: records/s. */
async function kafkaConsumerPerformance(env: StackEnv, run: string): Promise<{ recordsPerSecond: number; fetchRecordsPerSecond: number }> {
  const { stdout } = await promisify(execFile)(
    'java',
    [
      '-cp',
      env.KAFKA_CLASSPATH,
      `-Dlog4j2.configurationFile=${ROOT}/infra/local/kafka/log4j2-tools.xml`,
      'org.apache.kafka.tools.ConsumerPerformance',
      '--bootstrap-server',
      env.KAFKA_BROKERS,
      '--topic',
      topic,
      '--group',
      `bench-perf-${id}-${run}`,
      '--num-records',
      String(RECORDS),
      '--timeout',
      '60000',
    ],
    { timeout: 300_000, maxBuffer: 1024 * 1024 },
  );
  // A header line of comma-separated names, then one line of values.
  const lines = stdout.trim().split('\n');
  const names = lines
    .at(-2)!
    .split(',')
    .map((name) => name.trim());
  const cells = lines
    .at(-1)!
    .split(',')
    .map((cell) => cell.trim());
  const value = (name: string) => Number(cells[names.indexOf(name)]);
  return { recordsPerSecond: Math.round(value('nMsg.sec')), fetchRecordsPerSecond: Math.round(value('fetch.nMsg.sec')) };
}

/** Writes the topic's records as NDJSON to a temp file, as they sit in Kafka. */
async function writeNdjson(path: string): Promise<void> {
  const out = createWriteStream(path);
  for (let i = 0; i < RECORDS; i += 1) {
    if (!out.write(`${JSON.stringify(benchRecord(i))}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/**
 * DuckDB alone: NDJSON -> one DuckLake transaction (the prices and their candle partials) on a
 * new lake of the stack. Records/s of the whole (read, convert, commit) and of the commit alone.
 */
async function duckdbToLake(
  env: StackEnv,
  ndjson: string,
  run: string,
): Promise<{ recordsPerSecond: number; copyRecordsPerSecond: number }> {
  const lake = lakeName(`duckdb-${run}`);
  lakes.push(lake);
  const session = await LakeSession.open(await stackLake(env, lake), { readOnly: false, threads: 2 });
  try {
    const db = await session.connect();
    await ensureLakeTables(db);
    const started = performance.now();
    await db.run(`
      CREATE TABLE memory.ndjson AS
      SELECT id, make_timestamp(ts * 1000) AS ts, symbol, source, price_usd, volume_24h_usd, market_cap_usd, change_24h_pct,
             make_timestamp(ingested_at * 1000) AS ingested_at
        FROM read_json('${ndjson}', format = 'newline_delimited', columns = {id: 'VARCHAR', ts: 'BIGINT', symbol: 'VARCHAR',
             source: 'VARCHAR', price_usd: 'DOUBLE', volume_24h_usd: 'DOUBLE', market_cap_usd: 'DOUBLE', change_24h_pct: 'DOUBLE',
             ingested_at: 'BIGINT'})`);
    const copyStarted = performance.now();
    const rollups = rollupStatements(prices, 'memory.ndjson');
    for (const sql of rollups.prepare) await db.run(sql);
    await db.run('BEGIN');
    await db.run(`INSERT INTO ${tableRef(prices.name)} SELECT * FROM memory.ndjson ORDER BY symbol, ts`);
    for (const sql of rollups.inserts) await db.run(sql);
    await db.run('COMMIT');
    const ended = performance.now();
    return {
      recordsPerSecond: Math.round(RECORDS / ((ended - started) / 1000)),
      copyRecordsPerSecond: Math.round(RECORDS / ((ended - copyStarted) / 1000)),
    };
  } finally {
    session.close();
  }
}

const env = await stack();
const bus = new KafkaBus({ brokers: env.KAFKA_BROKERS.split(','), partitions: PARTITIONS, log: silentLogger });
const temp = await mkdtemp(join(tmpdir(), 'cryptolake-bench-ingest-'));
try {
  for (const name of Object.values(TOPICS)) await bus.endOffsets(name);
  const fillSeconds = await fillTopic(env.KAFKA_BROKERS.split(','), topic, RECORDS);
  process.stderr.write(`filled ${topic} with ${RECORDS} records in ${fillSeconds.toFixed(1)} s\n`);
  const ndjson = join(temp, 'records.ndjson');
  await writeNdjson(ndjson);

  const one: ProcessorRun[] = [];
  const two: ProcessorRun[] = [];
  const kafka: { recordsPerSecond: number; fetchRecordsPerSecond: number }[] = [];
  const duck: { recordsPerSecond: number; copyRecordsPerSecond: number }[] = [];
  // Interleaved, so that a slow minute of the machine hits every contender alike.
  for (let run = 1; run <= RUNS; run += 1) {
    one.push(await runProcessors(env, bus, 1, `one-${run}`));
    two.push(await runProcessors(env, bus, 2, `two-${run}`));
    kafka.push(await kafkaConsumerPerformance(env, String(run)));
    duck.push(await duckdbToLake(env, ndjson, String(run)));
    process.stderr.write(`run ${run}: ${JSON.stringify({ one: one.at(-1), two: two.at(-1), kafka: kafka.at(-1), duck: duck.at(-1) })}\n`);
  }
  const summarise = (runs: ProcessorRun[]) => ({
    seconds: median(runs.map((r) => r.seconds)),
    recordsPerSecond: Math.round(median(runs.map((r) => r.recordsPerSecond))),
    cpuSecondsPerMillion: round(median(runs.map((r) => r.cpuSecondsPerMillion)), 1),
    parquetMbPerMillion: round(median(runs.map((r) => r.parquetBytesPerMillion)) / 1e6, 1),
    files: median(runs.map((r) => r.files)),
  });
  const oneProcessor = summarise(one);
  const twoProcessors = summarise(two);
  const kafkaConsumer = Math.round(median(kafka.map((r) => r.recordsPerSecond)));
  const duckdb = Math.round(median(duck.map((r) => r.recordsPerSecond)));
  const result = {
    records: RECORDS,
    partitions: PARTITIONS,
    runs: RUNS,
    fillSeconds: round(fillSeconds, 1),
    oneProcessor,
    twoProcessors,
    kafkaConsumerPerformance: {
      recordsPerSecond: kafkaConsumer,
      fetchRecordsPerSecond: Math.round(median(kafka.map((r) => r.fetchRecordsPerSecond))),
    },
    duckdbAlone: { recordsPerSecond: duckdb, copyRecordsPerSecond: Math.round(median(duck.map((r) => r.copyRecordsPerSecond))) },
    ratios: {
      twoOverOne: round(twoProcessors.recordsPerSecond / oneProcessor.recordsPerSecond, 2),
      oneOfKafkaConsumer: round(oneProcessor.recordsPerSecond / kafkaConsumer, 3),
      oneOfDuckdb: round(oneProcessor.recordsPerSecond / duckdb, 3),
    },
    raw: { one, two, kafka, duck },
    node: process.version,
    at: new Date().toISOString(),
  };
  process.stdout.write(`${JSON.stringify({ ...result, raw: undefined }, null, 2)}\n`);
  await writeResult(values.quick ? 'ingest-quick' : 'ingest', result);
} finally {
  for (const lake of lakes) await removeStackLake(env, lake);
  await deletePrefix(s3Client(env), env.S3_BUCKET, `bench/ingest-${id}/`);
  await bus.close();
  await rm(temp, { recursive: true, force: true });
}

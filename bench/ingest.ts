/**
 * Ingest throughput and its ceiling, on the shared local stack (Kafka, and the lake of the
 * services: PostgreSQL catalog, MinIO data):
 *
 *   npx tsx bench/ingest.ts [--records 1000000] [--runs 3] [--quick] [--no-peer]   (--quick = 200 000 records, 1 run)
 *
 * Fills one 6-partition topic with `--records` records of the real shape (the Kafka bus, big sends),
 * then, `--runs` times each, measures:
 *  - one processor (a real `processor/main.ts` process) and two processors in one consumer group,
 *    each run into a new lake of its own (catalog schema and S3 prefix): seconds from spawn until
 *    the group's committed offsets reach the end offsets (the processor records them on the bus
 *    after its lake commit), records/s, CPU seconds per million records (user+sys from
 *    /proc/<pid>/stat, summed over the processes), the cores the whole machine kept busy meanwhile
 *    (/proc/stat: the processor, the broker, MinIO and the catalog together; near 2 on this 2-core
 *    machine, the machine is the bound), peak RSS (VmHWM, summed), bytes of Parquet of
 *    `prices` per million records and its files per day of event time (from the catalog, which
 *    must hold every record once);
 *  - the peer, Redpanda Connect (bench/peers/redpanda-connect.ts, built once outside the repo; skipped
 *    with the reason when there is no Go toolchain, or with `--no-peer`): Kafka -> Snappy Parquet
 *    objects on MinIO, a fresh group and its own prefix, timed and measured as the processor; its
 *    objects are read back with DuckDB, which must find every record in them as Parquet;
 *  - Kafka's own consumer (`kafka-tools` ConsumerPerformance, a fresh group) on the same topic (CPU
 *    and peak RSS of the JVM from GNU time, when /usr/bin/time exists);
 *  - DuckDB alone: the same rows as NDJSON -> one DuckLake transaction on a new lake of the same
 *    kind (`INSERT INTO lake.prices` and the candle rollups at every grain, as the processor's commit), in this
 *    process (CPU from its rusage, peak RSS with its VmHWM reset first, so Node's own memory is in it).
 * Medians of the runs; our records/s as a fraction of each ceiling and of the peer. Every S3 prefix is under
 * `bench/ingest-<id>/` and every catalog schema is `bench_ingest_<id>_*`: both are deleted at the
 * end; the topics stay. Writes bench/results/ingest.json.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
  busyCores,
  cpuSeconds,
  deletePrefix,
  fillTopic,
  listPrefix,
  machineCpu,
  median,
  peakRssMib,
  removeStackLake,
  resetPeakRss,
  round,
  s3Client,
  sleep,
  stackLake,
  stackLakeEnv,
  stackServiceEnv,
  writeResult,
} from './support.ts';
import { buildRedpandaConnect, parquetUnder, pipelineConfig, REDPANDA_CONNECT_VERSION } from './peers/redpanda-connect.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string' },
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'no-peer': { type: 'boolean', default: false },
  },
});
const RECORDS = Number(values.records ?? (values.quick ? 200_000 : 1_000_000));
const RUNS = Number(values.runs ?? (values.quick ? 1 : 3));
const PARTITIONS = 6;
/** Records per flush of the processor, and per Parquet object of the peer. */
const FLUSH_MAX_RECORDS = 100_000;
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

/** One run of a consumer that writes Parquet: the processors or the peer. */
interface WriterRun {
  seconds: number;
  recordsPerSecond: number;
  cpuSecondsPerMillion: number;
  /** Cores of the machine busy on average during the run, every process counted: near the core count, the machine is the bound. */
  machineBusyCores: number;
  peakRssMib: number;
  parquetBytesPerMillion: number;
  files: number;
  filesPerDay: number;
}

/** Runs `count` processors in one fresh group over the topic until the group has committed everything. */
async function runProcessors(env: StackEnv, bus: KafkaBus, count: number, run: string): Promise<WriterRun> {
  const group = `bench-ingest-${id}-${run}`;
  const lake = lakeName(run);
  lakes.push(lake);
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
        FLUSH_MAX_RECORDS: String(FLUSH_MAX_RECORDS),
      },
      stdio: ['ignore', 2, 'inherit'],
    }),
  );
  const { seconds, cpu, peakRss, machineCores } = await untilCommitted(bus, group, children, started, 'the processors');
  const { rows, files, bytes, days } = await pricesInLake(env, lake);
  if (rows !== RECORDS) throw new Error(`the lake of ${run} holds ${rows} prices rows, not the ${RECORDS} records published`);
  await removeStackLake(env, lake);
  return writerRun({ seconds, cpu, machineCores, peakRss }, bytes, files, days);
}

/**
 * Waits (polling every 200 ms, 10 minutes at most) until `group` has committed the end offsets of
 * the topic, then stops the children. Seconds since `started`, the children's CPU seconds and
 * peak RSS in MiB, both summed, read just before they are stopped, and the cores the whole machine
 * kept busy meanwhile (the consumer, the broker, MinIO and the catalog together).
 */
async function untilCommitted(
  bus: KafkaBus,
  group: string,
  children: ChildProcess[],
  started: number,
  what: string,
): Promise<{ seconds: number; cpu: number; peakRss: number; machineCores: number }> {
  const machine = await machineCpu();
  const ends = await bus.endOffsets(topic);
  const deadline = started + 600_000;
  try {
    for (;;) {
      await sleep(200);
      if (children.some((child) => child.exitCode !== null)) throw new Error(`${what} exited before the end of the topic`);
      if (performance.now() > deadline) throw new Error(`${what} did not reach the end of the topic in 10 minutes`);
      // The group's coordinator may not be known yet: a failed look-up is just "not done".
      const committed = await bus.committedOffsets(group, topic).catch(() => new Map<number, number>());
      if ([...ends].every(([partition, end]) => end === 0 || committed.get(partition) === end)) break;
    }
    const seconds = (performance.now() - started) / 1000;
    let cpu = 0;
    let peakRss = 0;
    for (const child of children) {
      cpu += await cpuSeconds(child.pid!);
      peakRss += await peakRssMib(child.pid!);
    }
    return { seconds, cpu, peakRss, machineCores: busyCores(machine, await machineCpu()) };
  } finally {
    await Promise.all(children.filter((child) => child.exitCode === null).map((child) => (child.kill('SIGTERM'), once(child, 'exit'))));
  }
}

/** The figures of a writer's run from what was measured; files per day = data files / days of event time. */
function writerRun(
  { seconds, cpu, machineCores, peakRss }: { seconds: number; cpu: number; machineCores: number; peakRss: number },
  bytes: number,
  files: number,
  days: number,
): WriterRun {
  const millions = RECORDS / 1e6;
  return {
    seconds: round(seconds, 2),
    recordsPerSecond: Math.round(RECORDS / seconds),
    cpuSecondsPerMillion: round(cpu / millions, 1),
    machineBusyCores: round(machineCores, 2),
    peakRssMib: Math.round(peakRss),
    parquetBytesPerMillion: Math.round(bytes / millions),
    files,
    filesPerDay: round(days === 0 ? 0 : files / days, 1),
  };
}

/**
 * Runs Redpanda Connect in a fresh group over the topic until the group has committed everything,
 * its objects under the run's own prefix; then reads them back: every record must be in them, as Parquet.
 */
async function runRedpandaConnect(env: StackEnv, bus: KafkaBus, binary: string, run: string): Promise<WriterRun> {
  const group = `bench-ingest-${id}-${run}`;
  const prefix = `bench/${lakeName(run)}`;
  const config = join(temp, `${run}.yaml`);
  await writeFile(config, pipelineConfig({ brokers: env.KAFKA_BROKERS, topic, group, env, prefix, batchRecords: FLUSH_MAX_RECORDS }));
  const started = performance.now();
  const child = spawn(binary, ['run', config], { stdio: ['ignore', 2, 'inherit'] });
  const measured = await untilCommitted(bus, group, [child], started, 'Redpanda Connect');
  const written = await parquetUnder(env, prefix);
  if (written.rows !== RECORDS || written.distinctIds !== RECORDS) {
    throw new Error(`Redpanda Connect wrote ${written.rows} rows (${written.distinctIds} ids) under ${prefix}, not the ${RECORDS} records`);
  }
  const bytes = (await listPrefix(s3Client(env), env.S3_BUCKET, `${prefix}/`)).reduce((sum, object) => sum + object.size, 0);
  await deletePrefix(s3Client(env), env.S3_BUCKET, `${prefix}/`);
  const result = writerRun(measured, bytes, written.files, written.days);
  // A file of the peer may hold two days: its files per day counts each file once per day it holds.
  return { ...result, filesPerDay: round(written.filesPerDay, 1) };
}

/** Distinct ids of `prices` in a lake, its days of event time, and its data files and their bytes, as the catalog lists them. */
async function pricesInLake(env: StackEnv, name: string): Promise<{ rows: number; days: number; files: number; bytes: number }> {
  const session = await LakeSession.open(await stackLake(env, name), { readOnly: true, threads: 2 });
  try {
    const db = await session.connect();
    const [row] = (
      await db.runAndReadAll(
        `SELECT (SELECT count(DISTINCT id) FROM ${tableRef(prices.name)})::DOUBLE AS rows,
                (SELECT count(DISTINCT ts::DATE) FROM ${tableRef(prices.name)})::DOUBLE AS days, count(*)::DOUBLE AS files,
                coalesce(sum(data_file_size_bytes), 0)::DOUBLE AS bytes
           FROM ducklake_list_files(${sqlString(LAKE)}, ${sqlString(prices.name)})`,
      )
    ).getRowObjectsJS();
    return { rows: Number(row!.rows), days: Number(row!.days), files: Number(row!.files), bytes: Number(row!.bytes) };
  } finally {
    session.close();
  }
}

/** What a consumer that writes nothing measured: the Kafka tool and DuckDB alone. */
interface ConsumerRun {
  recordsPerSecond: number;
  cpuSecondsPerMillion: number | null;
  peakRssMib: number | null;
}

const GNU_TIME = '/usr/bin/time';

/**
 * Kafka's own consumer (Java, kafka-tools) over the topic in a fresh group: records/s, and the
 * JVM's CPU and peak RSS from GNU time (null without /usr/bin/time).
 */
async function kafkaConsumerPerformance(env: StackEnv, run: string): Promise<ConsumerRun & { fetchRecordsPerSecond: number }> {
  const timeFile = join(temp, `time-${run}.txt`);
  const timed = existsSync(GNU_TIME);
  const { stdout } = await promisify(execFile)(
    timed ? GNU_TIME : 'java',
    [
      ...(timed ? ['-f', '%U %S %M', '-o', timeFile, 'java'] : []),
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
  // GNU time: user and system seconds, then the peak RSS in KiB.
  const [user, system, maxKib] = timed ? (await readFile(timeFile, 'utf8')).trim().split(/\s+/).slice(-3).map(Number) : [];
  return {
    recordsPerSecond: Math.round(value('nMsg.sec')),
    fetchRecordsPerSecond: Math.round(value('fetch.nMsg.sec')),
    cpuSecondsPerMillion: timed ? round((user! + system!) / (RECORDS / 1e6), 1) : null,
    peakRssMib: timed ? Math.round(maxKib! / 1024) : null,
  };
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
 * DuckDB alone: NDJSON -> one DuckLake transaction (the prices and their candle rollups) on a
 * new lake of the stack. Records/s of the whole (read, convert, commit) and of the commit alone;
 * CPU and peak RSS of this process over the whole; files per day of `prices` from the catalog.
 */
async function duckdbToLake(
  env: StackEnv,
  ndjson: string,
  run: string,
): Promise<ConsumerRun & { copyRecordsPerSecond: number; filesPerDay: number }> {
  const lake = lakeName(`duckdb-${run}`);
  lakes.push(lake);
  const session = await LakeSession.open(await stackLake(env, lake), { readOnly: false, threads: 2 });
  let measured: { recordsPerSecond: number; copyRecordsPerSecond: number; cpuSecondsPerMillion: number; peakRssMib: number };
  try {
    const db = await session.connect();
    await ensureLakeTables(db);
    await resetPeakRss();
    const cpuBefore = process.cpuUsage();
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
    const cpu = process.cpuUsage(cpuBefore);
    measured = {
      recordsPerSecond: Math.round(RECORDS / ((ended - started) / 1000)),
      copyRecordsPerSecond: Math.round(RECORDS / ((ended - copyStarted) / 1000)),
      cpuSecondsPerMillion: round((cpu.user + cpu.system) / 1e6 / (RECORDS / 1e6), 1),
      peakRssMib: Math.round(await peakRssMib(process.pid)),
    };
  } finally {
    session.close();
  }
  const { files, days } = await pricesInLake(env, lake);
  return { ...measured, filesPerDay: round(days === 0 ? 0 : files / days, 1) };
}

const env = await stack();
const bus = new KafkaBus({ brokers: env.KAFKA_BROKERS.split(','), partitions: PARTITIONS, log: silentLogger });
const temp = await mkdtemp(join(tmpdir(), 'cryptolake-bench-ingest-'));
try {
  const peer = values['no-peer']
    ? { skipped: 'Redpanda Connect skipped: --no-peer' }
    : await buildRedpandaConnect((line) => process.stderr.write(`${line}\n`));
  if ('skipped' in peer) process.stderr.write(`${peer.skipped}\n`);
  for (const name of Object.values(TOPICS)) await bus.endOffsets(name);
  const fillSeconds = await fillTopic(env.KAFKA_BROKERS.split(','), topic, RECORDS);
  process.stderr.write(`filled ${topic} with ${RECORDS} records in ${fillSeconds.toFixed(1)} s\n`);
  const ndjson = join(temp, 'records.ndjson');
  await writeNdjson(ndjson);

  const one: WriterRun[] = [];
  const two: WriterRun[] = [];
  const connect: WriterRun[] = [];
  const kafka: (ConsumerRun & { fetchRecordsPerSecond: number })[] = [];
  const duck: (ConsumerRun & { copyRecordsPerSecond: number; filesPerDay: number })[] = [];
  // Interleaved, so that a slow minute of the machine hits every contender alike.
  for (let run = 1; run <= RUNS; run += 1) {
    one.push(await runProcessors(env, bus, 1, `one-${run}`));
    if ('binary' in peer) connect.push(await runRedpandaConnect(env, bus, peer.binary, `connect-${run}`));
    two.push(await runProcessors(env, bus, 2, `two-${run}`));
    kafka.push(await kafkaConsumerPerformance(env, String(run)));
    duck.push(await duckdbToLake(env, ndjson, String(run)));
    const last = { one: one.at(-1), connect: connect.at(-1), two: two.at(-1), kafka: kafka.at(-1), duck: duck.at(-1) };
    process.stderr.write(`run ${run}: ${JSON.stringify(last)}\n`);
  }
  const medianOf = <T>(runs: T[], pick: (run: T) => number | null) => {
    const picked = runs.map(pick);
    return picked.includes(null) ? null : median(picked as number[]);
  };
  const summarise = (runs: WriterRun[]) => ({
    seconds: median(runs.map((r) => r.seconds)),
    recordsPerSecond: Math.round(median(runs.map((r) => r.recordsPerSecond))),
    cpuSecondsPerMillion: round(median(runs.map((r) => r.cpuSecondsPerMillion)), 1),
    machineBusyCores: round(median(runs.map((r) => r.machineBusyCores)), 2),
    peakRssMib: Math.round(median(runs.map((r) => r.peakRssMib))),
    parquetMbPerMillion: round(median(runs.map((r) => r.parquetBytesPerMillion)) / 1e6, 1),
    files: median(runs.map((r) => r.files)),
    filesPerDay: round(median(runs.map((r) => r.filesPerDay)), 1),
  });
  const oneProcessor = summarise(one);
  const twoProcessors = summarise(two);
  const redpandaConnect = 'binary' in peer ? { version: REDPANDA_CONNECT_VERSION, ...summarise(connect) } : { skipped: peer.skipped };
  const kafkaConsumer = Math.round(median(kafka.map((r) => r.recordsPerSecond)));
  const duckdb = Math.round(median(duck.map((r) => r.recordsPerSecond)));
  const result = {
    records: RECORDS,
    partitions: PARTITIONS,
    runs: RUNS,
    fillSeconds: round(fillSeconds, 1),
    oneProcessor,
    twoProcessors,
    redpandaConnect,
    kafkaConsumerPerformance: {
      recordsPerSecond: kafkaConsumer,
      fetchRecordsPerSecond: Math.round(median(kafka.map((r) => r.fetchRecordsPerSecond))),
      cpuSecondsPerMillion: medianOf(kafka, (r) => r.cpuSecondsPerMillion),
      peakRssMib: medianOf(kafka, (r) => r.peakRssMib),
    },
    duckdbAlone: {
      recordsPerSecond: duckdb,
      copyRecordsPerSecond: Math.round(median(duck.map((r) => r.copyRecordsPerSecond))),
      cpuSecondsPerMillion: medianOf(duck, (r) => r.cpuSecondsPerMillion),
      peakRssMib: medianOf(duck, (r) => r.peakRssMib),
      filesPerDay: medianOf(duck, (r) => r.filesPerDay),
    },
    ratios: {
      twoOverOne: round(twoProcessors.recordsPerSecond / oneProcessor.recordsPerSecond, 2),
      oneOfKafkaConsumer: round(oneProcessor.recordsPerSecond / kafkaConsumer, 3),
      oneOfDuckdb: round(oneProcessor.recordsPerSecond / duckdb, 3),
      oneOfRedpandaConnect:
        'recordsPerSecond' in redpandaConnect ? round(oneProcessor.recordsPerSecond / redpandaConnect.recordsPerSecond, 3) : null,
    },
    raw: { one, two, connect, kafka, duck },
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

/**
 * What the operating system's cap on a SQL console worker measures and whether it holds. Starts
 * one worker as the server does (`WorkerProcess.start`, SQL_MEMORY_LIMIT `--memory`) on a small
 * lake, reads its idle address space (VmSize), data segment (VmData: what RLIMIT_DATA counts) and
 * resident memory (VmRSS) from /proc, then runs queries that allocate past the cap outside DuckDB's
 * buffer manager (lists, strings, a hash table) and samples the worker's RSS every 50 ms while
 * each runs: how it ended, after how long, and the worker's peak RSS against its cap. The cap
 * is RLIMIT_DATA rather than RLIMIT_AS because VmSize holds gigabytes reserved and never touched.
 *
 *   npx tsx bench/console-memory.ts [--memory 256MB] [--timeout-ms 20000]
 *
 * The lake folder is deleted at the end. Writes bench/results/console-memory.json.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveExtensionDir } from '../core/lake-location.ts';
import { WorkerProcess } from '../lake-query/console/worker-process.ts';
import { parseSize } from '../lake-query/sql-sandbox.ts';
import { buildPriceLake } from './price-lake.ts';
import { localLake, round, sleep, writeResult } from './support.ts';

const { values } = parseArgs({
  options: {
    memory: { type: 'string', default: '256MB' },
    'timeout-ms': { type: 'string', default: '20000' },
  },
});
const MEMORY = values.memory;
const TIMEOUT_MS = Number(values['timeout-ms']);
const MB = 1024 * 1024;

/** Allocations DuckDB's `memory_limit` does not bound, at sizes far past the cap. */
const HUNGRY = [
  { shape: 'list over a large range', sql: 'SELECT len(list_transform(range(300000000), x -> x + 1)) AS n' },
  { shape: 'one huge string', sql: "SELECT len(repeat('x', 2000000000)) AS n" },
  { shape: 'string aggregate', sql: "SELECT len(string_agg(range::VARCHAR, ',')) FROM range(300000000)" },
  {
    shape: 'cross join into a hash table',
    sql: 'SELECT count(DISTINCT a.range::VARCHAR || b.range::VARCHAR) FROM range(20000) a, range(20000) b',
  },
];

/** VmSize, VmData and VmRSS of a process, in MB. */
async function memory(pid: number): Promise<{ vmSizeMb: number; vmDataMb: number; rssMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const field = (name: string) => round(Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) / 1024);
  return { vmSizeMb: field('VmSize'), vmDataMb: field('VmData'), rssMb: field('VmRSS') };
}

const root = await mkdtemp(join(tmpdir(), 'cryptolake-console-memory-'));
const location = localLake(root, resolveExtensionDir({ duckdbExtensionDir: process.env.DUCKDB_EXTENSION_DIR }));
await buildPriceLake(location, { rows: 20_000, days: 2, end: Date.now() });
const memoryBytes = parseSize(MEMORY);
const settings = {
  location,
  memoryBytes,
  duckdbMemoryLimit: `${Math.floor((memoryBytes * 0.75) / 1024)}KiB`,
  threads: 1,
  startTimeoutMs: 60_000,
};

const runs = [];
let idle: Awaited<ReturnType<typeof memory>> | undefined;
let capMb = 0;
for (const { shape, sql } of HUNGRY) {
  const worker = await WorkerProcess.start(settings);
  idle ??= await memory(worker.pid);
  capMb = round(worker.dataLimitBytes / MB);
  let peakRssMb = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      peakRssMb = Math.max(peakRssMb, (await memory(worker.pid)).rssMb);
      await sleep(50);
    }
  })();
  const started = performance.now();
  const timer = setTimeout(() => worker.kill(), TIMEOUT_MS);
  const outcome = await worker.run(sql, { maxRows: 10, maxBytes: 1024 * 1024 });
  clearTimeout(timer);
  const ms = performance.now() - started;
  done = true;
  await sampler;
  worker.kill();
  await worker.exited;
  const ended =
    outcome.type === 'answer'
      ? `answered ${JSON.stringify(outcome.answer.rows[0])}`
      : outcome.type === 'failure'
        ? `${outcome.kind}: ${outcome.message.split('\n')[0]!.slice(0, 160)}`
        : `worker died (${outcome.signal ?? `code ${outcome.code}`}): ${outcome.stderr.trim().split('\n').at(-1)?.slice(0, 160) ?? ''}`;
  runs.push({ shape, sql, ended, ms: round(ms), peakRssMb });
  process.stdout.write(`${shape}: ${ended} after ${round(ms)} ms, peak RSS ${peakRssMb} MB (cap ${capMb} MB of data)\n`);
}
await rm(root, { recursive: true, force: true });

const result = { at: new Date().toISOString(), memoryLimit: MEMORY, idleWorker: idle, dataCapMb: capMb, runs, node: process.version };
process.stdout.write(`Idle worker: ${JSON.stringify(idle)}\n`);
await writeResult('console-memory', result);

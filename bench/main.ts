/**
 * `npm run bench`: runs the project's benchmarks one after the other and leaves their JSON in
 * bench/results/. `npm run bench -- --quick` runs each at a smaller size, for a first look;
 * `--skip-100m` leaves out the 100-million-row lake speed run (its lake is built once, about an
 * hour on 2 cores, and kept under ~/.cache/cryptolake/bench/).
 * Each benchmark is its own script, runnable alone with its own options.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatTable, summaryRows } from './summary.ts';

const quick = process.argv.includes('--quick');
const skip100m = process.argv.includes('--skip-100m');

const BENCHMARKS: { name: string; script: string; args: string[]; quickArgs: string[] }[] = [
  {
    name: "Parquet writers, and the processor's DuckLake commit",
    script: 'bench/parquet-writers.ts',
    args: ['--rows', '1000000', '--runs', '3'],
    quickArgs: ['--rows', '200000', '--runs', '1'],
  },
  {
    name: 'Dashboard query latency over a 10-million-row lake',
    script: 'bench/query-latency.ts',
    args: ['--rows', '10000000', '--days', '365', '--runs', '20'],
    quickArgs: ['--rows', '1000000', '--days', '90', '--runs', '5'],
  },
  {
    name: 'Processor memory under a backlog (Kafka + MinIO from the local stack)',
    script: 'bench/processor-memory.ts',
    args: ['--records', '5000000'],
    quickArgs: ['--quick'],
  },
  {
    name: 'Ingest throughput: 1 and 2 processors vs. Redpanda Connect (built once with Go), Kafka ConsumerPerformance and DuckDB alone (local stack)',
    script: 'bench/ingest.ts',
    args: ['--records', '1000000', '--runs', '3'],
    quickArgs: ['--quick'],
  },
  {
    name: 'Kafka client: produce, consume and restart through the bus (local stack)',
    script: 'bench/kafka-clients.ts',
    args: ['--records', '500000', '--runs', '3'],
    quickArgs: ['--quick'],
  },
  {
    name: 'Dashboard queries on DuckLake: SQLite catalog + local files vs. PostgreSQL catalog + MinIO, and the one-file floor',
    script: 'bench/query-storage.ts',
    args: ['--rows', '1000000,10000000', '--runs', '10'],
    quickArgs: ['--quick'],
  },
  {
    name: 'Lake speed: every dashboard route on 100 M prices + 10 M trades (local), p50/p95/p99 cold, cold after the start-up warm-up and warm, against the one-file floor',
    script: 'bench/lake-speed.ts',
    args: ['--prices', '100000000', '--trades', '10000000', '--days', '365', '--runs', '10'],
    quickArgs: ['--quick'],
  },
  {
    name: 'Freshness: publish-to-visible latency on the live page and in the lake (Kafka + PostgreSQL + MinIO, and embedded)',
    script: 'bench/freshness.ts',
    args: [],
    quickArgs: ['--quick'],
  },
  {
    name: 'Scraper: polls/s over 100+ symbols and 6 fake providers, upstream calls saved by the shared cache with 3 replicas (Redis)',
    script: 'bench/scraper.ts',
    args: [],
    quickArgs: ['--quick'],
  },
  {
    name: 'Trade streams: fake venues at 20,000 trades/s, connections reset every 10 s, the lake checked trade by trade (local stack)',
    script: 'bench/trade-streams.ts',
    args: [],
    quickArgs: ['--quick'],
  },
  {
    name: 'Trade streams, two replicas: fake venues at 20,000 trades/s, one scraper SIGKILLed every 10 s and started again, each trade once in the lake (local stack)',
    script: 'bench/trade-streams.ts',
    args: ['--replicas', '2'],
    quickArgs: ['--quick', '--replicas', '2'],
  },
];

const root = fileURLToPath(new URL('..', import.meta.url));
let failed = 0;
for (const bench of BENCHMARKS.filter((b) => !(skip100m && !quick && b.script === 'bench/lake-speed.ts'))) {
  process.stdout.write(`\n== ${bench.name} (${bench.script} ${(quick ? bench.quickArgs : bench.args).join(' ')})\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', bench.script, ...(quick ? bench.quickArgs : bench.args)], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) failed++;
}

// One table from every result present, this run's and earlier ones (each row says its size and date).
process.stdout.write(`\n== Summary of bench/results/*.json\n${formatTable(await summaryRows())}\n`);
if (failed > 0) process.stdout.write(`\n${failed} benchmark(s) failed: see their output above.\n`);
process.exitCode = failed === 0 ? 0 : 1;

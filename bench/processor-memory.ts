/**
 * The processor's memory over a backlog: fills a Kafka topic with `--records` price records
 * (default 5 000 000; `--quick` = 500 000), runs one processor as a real process over it into
 * MinIO, samples its RSS every second, and reports max and median RSS, records/s and duration.
 * Runs on a stack instance of its own (own ports and state), removed at the end.
 *
 *   npx tsx bench/processor-memory.ts [--records 5000000] [--quick] [--max-buffered-bytes 67108864]
 */
import { spawn } from 'node:child_process';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { KafkaBus } from '../core/adapters/kafka/bus.ts';
import { silentLogger } from '../core/log.ts';
import { toPriceRecord } from '../core/records/price.ts';
import { dedicatedStack } from '../tests/chaos/dedicated-stack.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'max-buffered-bytes': { type: 'string', default: String(64 * 1024 * 1024) },
    partitions: { type: 'string', default: '3' },
  },
});
const records = Number(values.records ?? (values.quick ? 500_000 : 5_000_000));
const partitions = Number(values.partitions);
const root = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const stack = await dedicatedStack();
const env = stack.env;
const topic = `bench-prices-${Date.now().toString(36)}`;
const group = `bench-${Date.now().toString(36)}`;
const bus = new KafkaBus({ brokers: env.KAFKA_BROKERS.split(','), partitions, log: silentLogger });
try {
  // The topic (and its dead-letter twin) with `partitions` partitions, made through the bus.
  for (const name of [topic, `${topic}.dead-letter`]) {
    // A broker that just started may not yet lead the new topic's partitions: ask again.
    for (let attempt = 1; ; attempt += 1) {
      const ok = await bus.endOffsets(name).then(
        () => true,
        (error: unknown) => (attempt < 10 ? false : Promise.reject(error)),
      );
      if (ok) break;
      await sleep(500);
    }
  }

  // Fill: the processor's own record shape, published through the bus in large sends.
  const fillStarted = performance.now();
  const start = Date.UTC(2026, 10, 20);
  const symbols = ['BTC', 'ETH', 'SOL', 'XRP', 'ADA', 'DOGE', 'DOT', 'LTC'];
  // Below the broker's 1 MB record-batch limit per partition.
  const batchSize = 3_000;
  const inFlight: Promise<unknown>[] = [];
  for (let first = 0; first < records; first += batchSize) {
    const messages = [];
    for (let i = first; i < Math.min(records, first + batchSize); i += 1) {
      const symbol = symbols[i % symbols.length]!;
      // 40 ms apart: 5 M records span about two and a half days.
      const record = toPriceRecord(
        { source: 'binance', symbol, ts: start + i * 40, price_usd: 100 + (i % 1000), volume_24h_usd: 1e9, change_24h_pct: 1.5 },
        start + i * 40 + 50,
      );
      messages.push({ key: symbol, value: JSON.stringify(record) });
    }
    inFlight.push(bus.publish(topic, messages));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const fillSeconds = (performance.now() - fillStarted) / 1000;
  process.stderr.write(`filled ${records} records in ${fillSeconds.toFixed(1)} s\n`);

  // One processor, a real process, over the backlog.
  const child = spawn(process.execPath, ['--import', 'tsx', 'processor/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      ...env,
      LOG_LEVEL: 'warn',
      KAFKA_TOPIC: topic,
      DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
      KAFKA_GROUP: group,
      S3_PREFIX: group,
      MAX_BUFFERED_BYTES: values['max-buffered-bytes'],
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const started = performance.now();
  const samples: number[] = [];
  let done = false;
  while (!done) {
    await sleep(1_000);
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    if (rss) samples.push(Number(rss[1]) / 1024);
    // The group's coordinator may not be known yet: a failed look-up is just "not done".
    const offsets = await Promise.all([bus.endOffsets(topic), bus.committedOffsets(group, topic)]).catch(() => undefined);
    done = offsets !== undefined && [...offsets[0]].every(([partition, end]) => end === 0 || offsets[1].get(partition) === end);
    if (child.exitCode !== null) throw new Error(`the processor exited with ${child.exitCode}`);
  }
  const seconds = (performance.now() - started) / 1000;
  child.kill('SIGTERM');
  await exited;
  const sorted = [...samples].sort((a, b) => a - b);
  const result = {
    records,
    partitions,
    maxBufferedBytes: Number(values['max-buffered-bytes']),
    fillSeconds: Number(fillSeconds.toFixed(1)),
    seconds: Number(seconds.toFixed(1)),
    recordsPerSecond: Math.round(records / seconds),
    rssMaxMb: Math.round(sorted.at(-1) ?? 0),
    rssMedianMb: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
    samples: samples.length,
    at: new Date().toISOString(),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await mkdir(`${root}/bench/results`, { recursive: true });
  await writeFile(`${root}/bench/results/processor-memory${values.quick ? '-quick' : ''}.json`, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await bus.close();
  await stack.down();
}

/**
 * The Kafka client measured through the bus adapter (`KafkaBus`, core/adapters/kafka), on the shared local Kafka:
 *
 *   npx tsx bench/kafka-clients.ts [--records 1000000] [--runs 3] [--restarts 5] [--quick]
 *   (--quick = 200 000 records, 1 run, 2 restarts)
 *
 * It chose the client: at commit 3edd7cc the same script measured three adapters of the port side by
 * side (kafkajs 2.2.4, @platformatic/kafka 2.12.1, @confluentinc/kafka-javascript 1.10.1); the
 * figures are in the README's "Kafka client". Only the winner stays in the product, so only it is
 * measured here now; a candidate is one more entry of `CLIENTS`.
 *
 * Per run and client, interleaved (the order rotates each run), each phase in a process of its own:
 * - produce: `--records` records of the real shape (JSON, about 200 bytes, keyed by symbol) published
 *   through `bus.publish` into a fresh 6-partition topic, in sends of 1 000, 8 sends in flight;
 * - consume: one member of a fresh group reads that topic from the oldest message through
 *   `bus.consume`, reading each value's length and last byte (the time includes the join).
 * Records/s, CPU seconds (user + system of the process, every thread) per million records, and the
 * process's peak RSS; medians of the runs.
 * Restart: a member consumes a topic published to continuously (commits after each batch) and is
 * SIGKILLed; a new process joins the same group at once (same instanceId where the client has static
 * membership, else a 6 s session timeout, the broker's minimum) and the time until its first message
 * is recorded: median and worst of `--restarts`. Writes bench/results/kafka-clients.json.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Bus } from '../core/ports/bus.ts';
import { silentLogger } from '../core/log.ts';
import { KafkaBus } from '../core/adapters/kafka/bus.ts';
import { stack } from '../tests/support/stack.ts';
import { benchRecord, median, round, sleep, writeResult } from './support.ts';

/** A client under test: how to open its bus, and whether it has static membership. */
interface Client {
  label: string;
  staticMembership: boolean;
  open(brokers: string[], sessionTimeoutMs?: number): Bus;
}

const PARTITIONS = 6;
const CLIENTS: Record<string, Client> = {
  kafka: {
    label: '@platformatic/kafka 2.12.1 (KafkaBus)',
    staticMembership: true,
    open: (brokers, sessionTimeoutMs) => new KafkaBus({ brokers, partitions: PARTITIONS, sessionTimeoutMs, log: silentLogger }),
  },
};

const { values } = parseArgs({
  options: {
    records: { type: 'string' },
    runs: { type: 'string' },
    restarts: { type: 'string' },
    clients: { type: 'string' },
    quick: { type: 'boolean', default: false },
    child: { type: 'string' },
    client: { type: 'string' },
    topic: { type: 'string' },
    group: { type: 'string' },
    instance: { type: 'string' },
    brokers: { type: 'string' },
  },
});

/** What a produce or consume process reports. */
interface Phase {
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
}

const SEND_SIZE = 1_000;
const IN_FLIGHT = 8;

function report(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function phaseOf(startedAt: number, cpu: NodeJS.CpuUsage): Phase {
  const used = process.cpuUsage(cpu);
  return {
    seconds: (performance.now() - startedAt) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

/** The child processes: one phase each, reporting JSON lines on stdout. */
async function child(mode: string): Promise<void> {
  const client = CLIENTS[values.client!]!;
  const brokers = values.brokers!.split(',');
  const topic = values.topic!;
  const records = Number(values.records);
  if (mode === 'produce') {
    const bus = client.open(brokers);
    const messages = Array.from({ length: records }, (_, i) => {
      const record = benchRecord(i);
      return { key: record.symbol, value: JSON.stringify(record) };
    });
    await bus.publish(topic, messages.slice(0, 1)); // creates the topic and connects
    const startedAt = performance.now();
    const cpu = process.cpuUsage();
    const pending: Promise<unknown>[] = [];
    for (let first = 1; first < records; first += SEND_SIZE) {
      pending.push(bus.publish(topic, messages.slice(first, first + SEND_SIZE)));
      if (pending.length >= IN_FLIGHT) await pending.shift();
    }
    await Promise.all(pending);
    report(phaseOf(startedAt, cpu));
    await bus.close();
  } else if (mode === 'consume') {
    const bus = client.open(brokers);
    let consumed = 0;
    let bytes = 0;
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    const startedAt = performance.now();
    const cpu = process.cpuUsage();
    const consumer = await bus.consume({
      topics: [topic],
      group: values.group!,
      onBatch: async (batch) => {
        for (const message of batch.messages) bytes += message.value[message.value.length - 1]! + message.value.length;
        consumed += batch.messages.length;
        if (consumed >= records) done();
      },
    });
    await all;
    report({ ...phaseOf(startedAt, cpu), bytes });
    await consumer.close();
    await bus.close();
  } else if (mode === 'follow') {
    const bus = client.open(brokers, client.staticMembership ? undefined : 6_000);
    let first = true;
    const consumer = await bus.consume({
      topics: [topic],
      group: values.group!,
      instanceId: values.instance,
      onBatch: async (batch) => {
        if (first) {
          first = false;
          report({ firstMessageAt: Date.now() });
        }
        await consumer.commit([{ topic, partition: batch.partition, nextOffset: batch.messages.at(-1)!.offset + 1 }]);
      },
    });
    process.on('SIGTERM', () => void consumer.close().then(() => bus.close().then(() => process.exit(0))));
  }
}

/** Runs one child phase; resolves with its JSON lines as they come (`onLine`) and when it exits. */
function runChild(args: string[], onLine: (line: Record<string, number>) => void = () => {}) {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      onLine(JSON.parse(buffered.slice(0, end)) as Record<string, number>);
      buffered = buffered.slice(end + 1);
    }
  });
  const exited = new Promise<number>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  return { proc, exited };
}

async function phase(args: string[]): Promise<Phase & { bytes?: number }> {
  let result: (Phase & { bytes?: number }) | undefined;
  const { exited } = runChild(args, (line) => (result = line as unknown as Phase));
  const code = await exited;
  if (code !== 0 || !result) throw new Error(`${args.join(' ')} exited with ${code}`);
  return result;
}

/** Seconds from the SIGKILL of a consuming member to the first message of its replacement. */
async function restart(client: string, brokers: string[], id: string): Promise<number> {
  const topic = `bench-restart-${id}`;
  const group = `bench-restart-${id}`;
  const instance = CLIENTS[client]!.staticMembership ? `bench-member-${id}` : undefined;
  const args = ['--child', 'follow', '--client', client, '--brokers', brokers.join(','), '--topic', topic, '--group', group];
  if (instance) args.push('--instance', instance);
  const bus = CLIENTS[client]!.open(brokers);
  let publishing = true;
  const publisher = (async () => {
    for (let i = 0; publishing; i++) {
      await bus.publish(
        topic,
        Array.from({ length: 60 }, (_, k) => ({ key: `K${k}`, value: JSON.stringify(benchRecord(i * 60 + k)) })),
      );
      await sleep(100);
    }
  })();
  try {
    let firstOfOld: (() => void) | undefined;
    const oldConsumed = new Promise<void>((resolve) => (firstOfOld = resolve));
    const old = runChild(args, () => firstOfOld?.());
    await oldConsumed;
    await sleep(2_000); // a steady member: joined, heartbeating, committing
    old.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await old.exited;
    let firstAt = 0;
    const replacement = runChild(args, (line) => (firstAt ||= line.firstMessageAt ?? 0));
    const deadline = Date.now() + 120_000;
    while (firstAt === 0 && Date.now() < deadline) await sleep(20);
    replacement.proc.kill('SIGTERM');
    await replacement.exited;
    if (firstAt === 0) throw new Error(`${client}: the replacement consumed nothing within 120 s`);
    return (firstAt - killedAt) / 1000;
  } finally {
    publishing = false;
    await publisher;
    await bus.close();
  }
}

async function main(): Promise<void> {
  const records = Number(values.records ?? (values.quick ? 200_000 : 1_000_000));
  const runs = Number(values.runs ?? (values.quick ? 1 : 3));
  const restarts = Number(values.restarts ?? (values.quick ? 2 : 5));
  const names = values.clients ? values.clients.split(',') : Object.keys(CLIENTS);
  const env = await stack();
  const brokers = env.KAFKA_BROKERS.split(',');
  const id = Date.now().toString(36);
  const raw: Record<string, { produce: Phase[]; consume: Phase[]; restartSeconds: number[] }> = {};
  for (const name of names) raw[name] = { produce: [], consume: [], restartSeconds: [] };
  for (let run = 0; run < runs; run++) {
    const order = names.map((_, i) => names[(i + run) % names.length]!);
    for (const name of order) {
      const topic = `bench-clients-${id}-${name}-${run}`;
      const base = ['--client', name, '--brokers', brokers.join(','), '--topic', topic, '--records', String(records)];
      const produced = await phase(['--child', 'produce', ...base]);
      const consumed = await phase(['--child', 'consume', ...base, '--group', `${topic}-reader`]);
      raw[name]!.produce.push(produced);
      raw[name]!.consume.push(consumed);
      process.stderr.write(
        `run ${run + 1} ${name}: produce ${Math.round(records / produced.seconds)}/s, consume ${Math.round(records / consumed.seconds)}/s ` +
          `at ${round((consumed.cpuSeconds / records) * 1e6, 2)} CPU-s/M, ${consumed.peakRssMb} MiB\n`,
      );
    }
  }
  for (let i = 0; i < restarts; i++) {
    for (const name of names) {
      const seconds = await restart(name, brokers, `${id}-${name}-${i}`);
      raw[name]!.restartSeconds.push(seconds);
      process.stderr.write(`restart ${i + 1} ${name}: first message ${seconds.toFixed(2)} s after the SIGKILL\n`);
    }
  }
  const clients = Object.fromEntries(
    names.map((name) => {
      const { produce, consume, restartSeconds } = raw[name]!;
      return [
        name,
        {
          label: CLIENTS[name]!.label,
          staticMembership: CLIENTS[name]!.staticMembership,
          produceRecordsPerSecond: Math.round(median(produce.map((p) => records / p.seconds))),
          produceCpuSecondsPerMillion: round(median(produce.map((p) => (p.cpuSeconds / records) * 1e6)), 2),
          producePeakRssMb: median(produce.map((p) => p.peakRssMb)),
          consumeRecordsPerSecond: Math.round(median(consume.map((p) => records / p.seconds))),
          consumeCpuSecondsPerMillion: round(median(consume.map((p) => (p.cpuSeconds / records) * 1e6)), 2),
          consumePeakRssMb: median(consume.map((p) => p.peakRssMb)),
          restartSecondsMedian: restartSeconds.length > 0 ? round(median(restartSeconds), 2) : null,
          restartSecondsMax: restartSeconds.length > 0 ? round(Math.max(...restartSeconds), 2) : null,
        },
      ];
    }),
  );
  const result = {
    records,
    runs,
    restarts,
    partitions: PARTITIONS,
    sendSize: SEND_SIZE,
    inFlight: IN_FLIGHT,
    clients,
    raw,
    node: process.version,
    at: new Date().toISOString(),
  };
  process.stdout.write(
    '| client | produce records/s | consume records/s | consume CPU-s per million | consume peak RSS | restart after SIGKILL (median / worst) |\n',
  );
  process.stdout.write('|---|---|---|---|---|---|\n');
  for (const c of Object.values(clients)) {
    process.stdout.write(
      `| ${c.label} | ${c.produceRecordsPerSecond.toLocaleString('en-US')} | ${c.consumeRecordsPerSecond.toLocaleString('en-US')} | ${c.consumeCpuSecondsPerMillion} | ${c.consumePeakRssMb} MiB | ${c.restartSecondsMedian ?? '-'} s / ${c.restartSecondsMax ?? '-'} s |\n`,
    );
  }
  await writeResult(values.quick ? 'kafka-clients-quick' : 'kafka-clients', result);
}

if (values.child) await child(values.child);
else await main();

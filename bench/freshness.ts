/**
 * Publish-to-visible latency on Kafka + MinIO (the shared local stack), with the processor and
 * lake-query as real processes (`processor/main.ts`, `lake-query/main.ts`, defaults except
 * CACHE_TTL_MS=0 so a lake answer is never a cached one):
 *
 *   npx tsx bench/freshness.ts [--rates 1000,10000,50000] [--seconds 20] [--quick]   (--quick = 1000,10000 for 10 s)
 *
 * For each offered rate this process publishes records (ts = publish time, ms) with kafkajs in
 * sends every 20 ms (acks = all) for `--seconds`, and measures:
 *  - live: the arrival of each `price` event on `GET /api/stream` (SSE) minus its ts;
 *  - lake: one probe record per 100 ms; `POST /api/sql` is polled every 250 ms (during and after
 *    publishing) for the probes not yet seen; a probe's latency is the end of the first answer
 *    holding it minus its ts (so up to ~250 ms + one query pessimistic).
 * p50/p99 per rate, the rate achieved, and the events the stream dropped. The publisher, the SSE
 * reader and both parts share the 2 cores: a rate the machine cannot offer is reported as such.
 * S3 prefix `bench/freshness-<id>/` is deleted at the end. Writes bench/results/freshness.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, CompressionTypes, type Producer } from 'kafkajs';
import { KafkaBus } from '../core/adapters/kafka/bus.ts';
import { silentLogger } from '../core/log.ts';
import { toPriceRecord } from '../core/records/price.ts';
import { stack, type StackEnv } from '../tests/support/stack.ts';
import { ROOT, deletePrefix, percentile, s3Client, sleep, stackServiceEnv, writeResult } from './support.ts';

const { values } = parseArgs({
  options: {
    rates: { type: 'string' },
    seconds: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const RATES = (values.rates ?? (values.quick ? '1000,10000' : '1000,10000,50000')).split(',').map(Number);
const SECONDS = Number(values.seconds ?? (values.quick ? 10 : 20));
const SEND_EVERY_MS = 20;
const PROBE_EVERY_MS = 100;
/** Distinct symbols B0..B4095: more than the records of one millisecond at any rate offered. */
const SYMBOLS = 4096;
const id = Date.now().toString(36);
const topic = `bench-fresh-${id}`;
const prefix = `bench/freshness-${id}`;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

function startPart(entry: string, env: StackEnv, extra: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_NO_WARNINGS: '1',
      LOG_LEVEL: 'fatal',
      ...stackServiceEnv(env),
      DUCKDB_EXTENSION_DIR: env.DUCKDB_EXTENSION_DIR,
      KAFKA_TOPIC: topic,
      DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
      S3_PREFIX: prefix,
      ...extra,
    },
    stdio: ['ignore', 2, 'inherit'],
  });
}

/** Resolves once `url` answers at all (any status); throws after `timeoutMs`. */
async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (
    !(await fetch(url).then(
      () => true,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) throw new Error(`${url} did not answer in ${timeoutMs} ms`);
    await sleep(500);
  }
}

/** Follows `GET /api/stream`, recording arrival minus ts of every price event. */
function followStream(url: string): { latencies: number[]; errors: string[]; following: Promise<boolean>; stop(): void } {
  const latencies: number[] = [];
  const errors: string[] = [];
  const abort = new AbortController();
  let hello: (following: boolean) => void = () => undefined;
  const following = new Promise<boolean>((resolve) => (hello = resolve));
  void (async () => {
    const response = await fetch(`${url}/api/stream`, { signal: abort.signal });
    const decoder = new TextDecoder();
    let buffer = '';
    let event = '';
    const reader = response.body!.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      buffer += decoder.decode(chunk.value, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) {
          if (event === 'price') latencies.push(Date.now() - (JSON.parse(line.slice(5)) as { ts: number }).ts);
          else if (event === 'hello') hello((JSON.parse(line.slice(5)) as { live: boolean }).live);
          else if (event === 'error') errors.push(line.slice(5).trim());
        }
      }
    }
  })().catch((error: unknown) => {
    if (!abort.signal.aborted) errors.push(String(error));
  });
  return { latencies, errors, following, stop: () => abort.abort() };
}

/** A stream whose hello says the feed follows the bus (lake-query's consumer joins after it starts). */
async function followingStream(url: string): Promise<ReturnType<typeof followStream>> {
  for (let attempt = 0; attempt < 60; attempt += 1) {
    const stream = followStream(url);
    if (await stream.following) return stream;
    stream.stop();
    await sleep(1_000);
  }
  throw new Error('the live feed of lake-query did not follow the bus in 60 s');
}

/** Publishes at `rate` records/s for SECONDS; one record per PROBE_EVERY_MS is remembered as a probe. */
async function publish(producer: Producer, rate: number, probes: Map<string, number>): Promise<number> {
  const started = Date.now();
  let sent = 0;
  let lastProbe = 0;
  const inFlight: Promise<unknown>[] = [];
  while (Date.now() - started < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate) - sent;
    const messages = [];
    const now = Date.now();
    for (let i = 0; i < due; i += 1) {
      const n = sent + i;
      // Many records share a millisecond and the id is source:symbol:ts: a symbol per record of the ms keeps ids distinct.
      const record = toPriceRecord({ source: 'bench', symbol: `B${n % SYMBOLS}`, ts: now, price_usd: 100 }, now);
      if (now - lastProbe >= PROBE_EVERY_MS) {
        probes.set(record.id, now);
        lastProbe = now;
      }
      messages.push({ key: record.symbol, value: JSON.stringify(record) });
    }
    sent += due;
    if (messages.length > 0) inFlight.push(producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages }));
    if (inFlight.length >= 8) await inFlight.shift();
    await sleep(SEND_EVERY_MS);
  }
  await Promise.all(inFlight);
  return sent / ((Date.now() - started) / 1000);
}

/**
 * Polls the lake through `POST /api/sql` for the probes not yet seen, while `publishing()` and then
 * until every probe is seen (or `timeoutMs` after publishing ended); latency per probe.
 */
async function lakeLatencies(
  url: string,
  probes: Map<string, number>,
  publishing: () => boolean,
  timeoutMs: number,
): Promise<{ seen: number[]; missing: number; errors: string[] }> {
  const errors = new Set<string>();
  const seen = new Map<string, number>();
  let deadline = Infinity;
  for (;;) {
    if (publishing()) deadline = Date.now() + timeoutMs;
    const pending = [...probes.keys()].filter((probe) => !seen.has(probe));
    if ((!publishing() && pending.length === 0) || Date.now() > deadline) break;
    if (pending.length > 0) {
      const sql = `SELECT id FROM prices WHERE id IN (${pending
        .slice(0, 500)
        .map((probe) => `'${probe}'`)
        .join(', ')})`;
      const response = await fetch(`${url}/api/sql`, {
        method: 'POST',
        body: JSON.stringify({ sql }),
        headers: { 'content-type': 'application/json' },
      });
      const answered = Date.now();
      if (!response.ok) errors.add(`POST /api/sql answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
      else {
        for (const [probe] of ((await response.json()) as { rows: string[][] }).rows) seen.set(probe!, answered - probes.get(probe!)!);
      }
    }
    await sleep(250);
  }
  return { seen: [...seen.values()], missing: probes.size - seen.size, errors: [...errors] };
}

const env = await stack();
const bus = new KafkaBus({ brokers: env.KAFKA_BROKERS.split(','), partitions: 3, log: silentLogger });
await bus.endOffsets(topic);
await bus.endOffsets(`${topic}.dead-letter`);
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const processor = startPart('processor/main.ts', env, { KAFKA_GROUP: `bench-fresh-${id}` });
const lakeQuery = startPart('lake-query/main.ts', env, { PORT: String(port), CACHE_TTL_MS: '0', STREAM_MAX_BUFFERED: '100000' });
const kafka = new Kafka({ clientId: 'bench-freshness', brokers: env.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
const producer = kafka.producer({ allowAutoTopicCreation: false });
const rates: Record<string, unknown>[] = [];
try {
  await producer.connect();
  await waitForHttp(`${url}/api/health`, 60_000);
  for (const rate of RATES) {
    const stream = await followingStream(url);
    const probes = new Map<string, number>();
    let publishing = true;
    const lakeWatch = lakeLatencies(url, probes, () => publishing, 30_000);
    const achieved = await publish(producer, rate, probes).finally(() => (publishing = false));
    const lake = await lakeWatch;
    stream.stop();
    const live = stream.latencies;
    const entry = {
      offered: rate,
      achieved: Math.round(achieved),
      keptUp: achieved >= rate * 0.95,
      live: live.length > 0 ? { events: live.length, p50: percentile(live, 50), p99: percentile(live, 99) } : undefined,
      streamErrors: stream.errors.slice(0, 3),
      lakeErrors: lake.errors.slice(0, 3),
      lake:
        lake.seen.length > 0
          ? { probes: lake.seen.length, missing: lake.missing, p50: percentile(lake.seen, 50), p99: percentile(lake.seen, 99) }
          : undefined,
    };
    rates.push(entry);
    process.stderr.write(`${JSON.stringify(entry)}\n`);
  }
} finally {
  await producer.disconnect();
  for (const child of [processor, lakeQuery]) {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
  await bus.close();
  await deletePrefix(s3Client(env), env.S3_BUCKET, `${prefix}/`);
}
const result = {
  mode: 'Kafka + MinIO, processor and lake-query as processes',
  seconds: SECONDS,
  rates,
  node: process.version,
  at: new Date().toISOString(),
};
await writeResult(values.quick ? 'freshness-quick' : 'freshness', result);

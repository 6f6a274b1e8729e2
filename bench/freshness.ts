/**
 * Publish-to-visible latency, in the two ways cryptolake runs, at the same offered rates:
 *  - kafka: the shared local stack (Kafka, and a lake of its own: PostgreSQL catalog schema, MinIO
 *    prefix), the processor and lake-query as real processes (`processor/main.ts`,
 *    `lake-query/main.ts`); this process publishes through the Kafka bus;
 *  - embedded: what `npm start` uses, an in-memory bus and a local lake (SQLite catalog, data in a
 *    local folder), the
 *    processor and lake-query started in one child process (`startProcessor`, `startLakeQuery`
 *    on `openAdapters`, as main.ts does) which also publishes, as the scraper would, on request.
 * Both with defaults except lake-query's CACHE_TTL_MS=0 (a lake answer is never a cached one) and
 * STREAM_MAX_BUFFERED=100000:
 *
 *   npx tsx bench/freshness.ts [--rates 1000,10000,50000] [--seconds 20] [--modes kafka,embedded] [--quick]
 *   (--quick = 1000,10000 for 6 s, both modes)
 *
 * For each offered rate records (ts = publish time, ms) are published in sends every 20 ms (Kafka:
 * acks = all) for `--seconds`, and this process measures:
 *  - live: the arrival of each `price` event on `GET /api/stream` (SSE) minus its ts;
 *  - lake: one probe record per 100 ms; `POST /api/sql` is polled every 250 ms (during and after
 *    publishing) for the probes not yet seen; a probe's latency is the end of the first answer
 *    holding it minus its ts (so up to ~250 ms + one query pessimistic).
 * p50/p99 per rate, the rate achieved, and the events the stream dropped. The publisher, the SSE
 * reader and both parts share the 2 cores: a rate the machine cannot offer is reported as such.
 * The stack lake (S3 prefix `bench/freshness-<id>/`, schema `bench_freshness_<id>`) and the
 * embedded lake folder are deleted at the end. Writes
 * bench/results/freshness.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KafkaBus } from '../core/adapters/kafka/bus.ts';
import { openAdapters } from '../core/adapters/select.ts';
import { createLogger, silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { startProcessor } from '../processor/start.ts';
import { startLakeQuery } from '../lake-query/server.ts';
import { toPriceRecord } from '../core/records/price.ts';
import { stack, type StackEnv } from '../tests/support/stack.ts';
import { ROOT, percentile, removeStackLake, sleep, stackLakeEnv, stackServiceEnv, writeResult } from './support.ts';

const { values } = parseArgs({
  options: {
    rates: { type: 'string' },
    seconds: { type: 'string' },
    modes: { type: 'string' },
    quick: { type: 'boolean', default: false },
    // Internal: the child process of the embedded mode.
    'serve-embedded': { type: 'boolean', default: false },
  },
});
const RATES = (values.rates ?? (values.quick ? '1000,10000' : '1000,10000,50000')).split(',').map(Number);
const SECONDS = Number(values.seconds ?? (values.quick ? 6 : 20));
const MODES = (values.modes ?? 'kafka,embedded').split(',') as ('kafka' | 'embedded')[];
const SEND_EVERY_MS = 20;
const PROBE_EVERY_MS = 100;
/** Distinct symbols B0..B4095: more than the records of one millisecond at any rate offered. */
const SYMBOLS = 4096;
const id = Date.now().toString(36);
const topic = `bench-fresh-${id}`;
const lakeName = `freshness-${id}`;
/** Every topic the parts read: this benchmark's own. */
const TOPICS = {
  KAFKA_TOPIC: topic,
  DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
  ALERTS_TOPIC: `${topic}.alerts`,
  TRADES_TOPIC: `${topic}.trades`,
  GAPS_TOPIC: `${topic}.gaps`,
};

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
      ...stackLakeEnv(env, lakeName),
      ...TOPICS,
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

type Messages = { key: string; value: string }[];

/** Most records in one send: after a stall the records due pile up, and Kafka refuses a batch over 1 MB. */
const MAX_SEND = 2_000;

/**
 * Publishes at `rate` records/s for `seconds` through `send` (sends of at most MAX_SEND records,
 * at most 8 in flight); one record per PROBE_EVERY_MS is handed to `probe`. Resolves with the
 * rate achieved; rejects with the first failed send.
 */
async function publish(
  rate: number,
  seconds: number,
  send: (messages: Messages) => Promise<unknown>,
  probe: (id: string, ts: number) => void,
) {
  const started = Date.now();
  let sent = 0;
  let lastProbe = 0;
  const inFlight: Promise<unknown>[] = [];
  let failure: unknown;
  while (Date.now() - started < seconds * 1000) {
    if (failure !== undefined) throw failure;
    const due = Math.floor(((Date.now() - started) / 1000) * rate) - sent;
    const messages: Messages = [];
    const now = Date.now();
    for (let i = 0; i < due; i += 1) {
      const n = sent + i;
      // Many records share a millisecond and the id is source:symbol:ts: a symbol per record of the ms keeps ids distinct.
      const record = toPriceRecord({ source: 'bench', symbol: `B${n % SYMBOLS}`, ts: now, price_usd: 100 }, now);
      if (now - lastProbe >= PROBE_EVERY_MS) {
        probe(record.id, now);
        lastProbe = now;
      }
      messages.push({ key: record.symbol, value: JSON.stringify(record) });
    }
    sent += due;
    for (let first = 0; first < messages.length; first += MAX_SEND) {
      // Caught at once (a send failing while others are awaited must not crash the process), rethrown above.
      inFlight.push(send(messages.slice(first, first + MAX_SEND)).catch((error: unknown) => (failure ??= error)));
      while (inFlight.length >= 8) await inFlight.shift();
    }
    await sleep(SEND_EVERY_MS);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
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

/** A running pipeline to measure: lake-query's URL, a way to publish into its bus, and its end. */
interface Target {
  mode: 'kafka' | 'embedded';
  url: string;
  publish(rate: number, probes: Map<string, number>): Promise<number>;
  close(): Promise<void>;
}

/** Kafka and a lake on the stack: the processor and lake-query as processes, publishing from here through the Kafka bus (acks = all). */
async function kafkaTarget(env: StackEnv): Promise<Target> {
  const bus = new KafkaBus({ brokers: env.KAFKA_BROKERS.split(','), partitions: 3, log: silentLogger });
  for (const name of Object.values(TOPICS)) await bus.endOffsets(name);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const processor = startPart('processor/main.ts', env, { KAFKA_GROUP: `bench-fresh-${id}` });
  const lakeQuery = startPart('lake-query/main.ts', env, { PORT: String(port), CACHE_TTL_MS: '0', STREAM_MAX_BUFFERED: '100000' });
  const close = async () => {
    for (const child of [processor, lakeQuery]) await stopChild(child);
    await bus.close();
    await removeStackLake(env, lakeName);
  };
  try {
    await waitForHttp(`${url}/api/health`, 60_000);
  } catch (error) {
    await close();
    throw error;
  }
  const send = (messages: Messages) => bus.publish(topic, messages);
  return {
    mode: 'kafka',
    url,
    publish: (rate, probes) => publish(rate, SECONDS, send, (probe, ts) => probes.set(probe, ts)),
    close,
  };
}

/** What the embedded child and this process say to each other over IPC. */
type ToChild = { type: 'publish'; rate: number; seconds: number };
type FromChild = { type: 'ready'; url: string } | { type: 'probe'; id: string; ts: number } | { type: 'published'; achieved: number };

/**
 * Embedded: one child process with the in-memory bus and a local lake folder, the processor and
 * lake-query on them as main.ts wires them; it publishes when asked and reports its probes.
 */
async function embeddedTarget(env: StackEnv): Promise<Target> {
  const lakeDir = await mkdtemp(join(tmpdir(), 'bench-freshness-'));
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve-embedded'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_NO_WARNINGS: '1',
      LOG_LEVEL: 'fatal',
      LAKE_DIR: lakeDir,
      DUCKDB_EXTENSION_DIR: env.DUCKDB_EXTENSION_DIR,
      KAFKA_TOPIC: topic,
      DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
      PORT: String(await freePort()),
      CACHE_TTL_MS: '0',
      STREAM_MAX_BUFFERED: '100000',
    },
    stdio: ['ignore', 2, 'inherit', 'ipc'],
  });
  let probes = new Map<string, number>();
  let published: (achieved: number) => void = () => undefined;
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`the embedded pipeline exited (${code ?? signal})`)));
  });
  // Seen by whichever of ready/publish is waiting; the rejection is not unhandled when nobody is.
  exited.catch(() => undefined);
  const ready = new Promise<string>((resolve) => {
    child.on('message', (message: FromChild) => {
      if (message.type === 'ready') resolve(message.url);
      else if (message.type === 'probe') probes.set(message.id, message.ts);
      else published(message.achieved);
    });
  });
  const close = async () => {
    await stopChild(child);
    await rm(lakeDir, { recursive: true, force: true });
  };
  let url: string;
  try {
    url = await Promise.race([ready, exited]);
    await waitForHttp(`${url}/api/health`, 60_000);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    mode: 'embedded',
    url,
    publish(rate, into) {
      probes = into;
      const done = new Promise<number>((resolve) => (published = resolve));
      child.send({ type: 'publish', rate, seconds: SECONDS } satisfies ToChild);
      return Promise.race([done, exited]);
    },
    close,
  };
}

/** The child of the embedded mode: the pipeline as `npm start` runs it, minus the scraper, plus a publisher. */
async function serveEmbedded(): Promise<void> {
  const env = process.env;
  const log = createLogger();
  const metrics = new Metrics();
  const adapters = await openAdapters(env, log);
  const processor = await startProcessor(adapters, env, log.child({ part: 'processor' }), metrics);
  const lakeQuery = await startLakeQuery(adapters, env, log.child({ part: 'lake-query' }), metrics);
  const tell = (message: FromChild) => process.send!(message);
  process.on('message', (message: ToChild) => {
    // The parent named the topic (this process has an id of its own).
    const send = (messages: Messages) => adapters.bus.publish(env.KAFKA_TOPIC!, messages);
    void publish(message.rate, message.seconds, send, (probe, ts) => tell({ type: 'probe', id: probe, ts })).then((achieved) =>
      tell({ type: 'published', achieved }),
    );
  });
  let stopping = false;
  const stop = () =>
    void (async () => {
      if (stopping) return;
      stopping = true;
      await processor.stop();
      await lakeQuery.close();
      await adapters.close();
      process.exit(0);
    })();
  // Asked to stop, or the bench is gone (its IPC channel closed with it).
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  tell({ type: 'ready', url: lakeQuery.url });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** Every offered rate against `target`: live and lake latencies. */
async function measure(target: Target): Promise<Record<string, unknown>[]> {
  const rates: Record<string, unknown>[] = [];
  for (const rate of RATES) {
    const stream = await followingStream(target.url);
    const probes = new Map<string, number>();
    let publishing = true;
    const lakeWatch = lakeLatencies(target.url, probes, () => publishing, 30_000);
    const achieved = await target.publish(rate, probes).finally(() => (publishing = false));
    const lake = await lakeWatch;
    stream.stop();
    const live = stream.latencies;
    const entry = {
      mode: target.mode,
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
  return rates;
}

if (values['serve-embedded']) {
  await serveEmbedded();
} else {
  const env = await stack();
  const rates: Record<string, unknown>[] = [];
  for (const mode of MODES) {
    const target = mode === 'kafka' ? await kafkaTarget(env) : await embeddedTarget(env);
    try {
      rates.push(...(await measure(target)));
    } finally {
      await target.close();
    }
  }
  const result = {
    modes: {
      kafka: 'Kafka, PostgreSQL catalog + MinIO data, processor and lake-query as processes, the bench publishing through the Kafka bus',
      embedded: 'in-memory bus and local lake (SQLite catalog), processor, lake-query and publisher in one process (as npm start)',
    },
    seconds: SECONDS,
    rates,
    node: process.version,
    at: new Date().toISOString(),
  };
  await writeResult(values.quick ? 'freshness-quick' : 'freshness', result);
}

/**
 * kafkajs 2.2.4 (the product's client) against @platformatic/kafka 1.x on the shared local Kafka:
 *
 *   npx tsx bench/kafka-clients.ts [--records 500000] [--runs 3] [--quick]   (--quick = 100 000 records, 1 run)
 *
 * Per client and run, on a fresh 3-partition topic: produce `--records` records of the real shape
 * (JSON, keyed by symbol) in sends of 1 000 messages, 4 sends in flight, acks = all, no
 * compression; then consume them all with one consumer in a fresh group from the earliest offset,
 * no processing (the time includes joining the group). Records/s, median of the runs, and the ratio
 * platformatic / kafkajs. The clients alternate which goes first. Writes bench/results/kafka-clients.json.
 */
import { parseArgs } from 'node:util';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import { Consumer, Producer, ProduceAcks, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { stack } from '../tests/support/stack.ts';
import { benchRecord, median, round, writeResult } from './support.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string' },
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const RECORDS = Number(values.records ?? (values.quick ? 100_000 : 500_000));
const RUNS = Number(values.runs ?? (values.quick ? 1 : 3));
const SEND_SIZE = 1_000;
const IN_FLIGHT = 4;
const id = Date.now().toString(36);

/** The workload, built once: the same keys and values for both clients. */
const MESSAGES = Array.from({ length: RECORDS }, (_, i) => {
  const record = benchRecord(i);
  return { key: record.symbol, value: JSON.stringify(record) };
});

/** Sends MESSAGES in slices of SEND_SIZE with at most IN_FLIGHT sends pending; seconds taken. */
async function produceAll(send: (slice: { key: string; value: string }[]) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let first = 0; first < RECORDS; first += SEND_SIZE) {
    pending.push(send(MESSAGES.slice(first, first + SEND_SIZE)));
    if (pending.length >= IN_FLIGHT) await pending.shift();
  }
  await Promise.all(pending);
  return (performance.now() - started) / 1000;
}

/** Resolves when `count()` reaches RECORDS; rejects after `timeoutMs`. */
async function until(count: () => number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (count() < RECORDS) {
    if (Date.now() > deadline) throw new Error(`consumed ${count()} of ${RECORDS} records in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function kafkajsRun(brokers: string[], topic: string): Promise<{ produce: number; consume: number }> {
  const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const produceSeconds = await produceAll((messages) => producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages }));
  await producer.disconnect();

  let consumed = 0;
  const started = performance.now();
  const consumer = kafka.consumer({ groupId: `${topic}-reader`, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch }) => {
      consumed += batch.messages.length;
    },
  });
  await until(() => consumed, 300_000);
  const consumeSeconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  return { produce: RECORDS / produceSeconds, consume: RECORDS / consumeSeconds };
}

async function platformaticRun(brokers: string[], topic: string): Promise<{ produce: number; consume: number }> {
  const producer = new Producer({ clientId: 'bench-platformatic', bootstrapBrokers: brokers, serializers: stringSerializers });
  const produceSeconds = await produceAll((slice) =>
    producer.send({ acks: ProduceAcks.ALL, messages: slice.map((message) => ({ topic, key: message.key, value: message.value })) }),
  );
  await producer.close();

  let consumed = 0;
  const started = performance.now();
  const consumer = new Consumer({
    groupId: `${topic}-reader`,
    clientId: 'bench-platformatic',
    bootstrapBrokers: brokers,
    deserializers: stringDeserializers,
  });
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
  stream.on('data', () => {
    consumed += 1;
  });
  await until(() => consumed, 300_000);
  const consumeSeconds = (performance.now() - started) / 1000;
  await stream.close();
  await consumer.close(true);
  return { produce: RECORDS / produceSeconds, consume: RECORDS / consumeSeconds };
}

const env = await stack();
const brokers = env.KAFKA_BROKERS.split(',');
const admin = new Kafka({ clientId: 'bench-admin', brokers, logLevel: logLevel.NOTHING }).admin();
await admin.connect();
const runs: Record<'kafkajs' | 'platformatic', { produce: number; consume: number }[]> = { kafkajs: [], platformatic: [] };
try {
  for (let run = 1; run <= RUNS; run += 1) {
    const order = run % 2 === 1 ? (['kafkajs', 'platformatic'] as const) : (['platformatic', 'kafkajs'] as const);
    for (const client of order) {
      const topic = `bench-clients-${id}-${client}-${run}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: -1 }], waitForLeaders: true });
      const result = await (client === 'kafkajs' ? kafkajsRun : platformaticRun)(brokers, topic);
      runs[client].push(result);
      process.stderr.write(`run ${run} ${client}: produce ${Math.round(result.produce)}/s, consume ${Math.round(result.consume)}/s\n`);
    }
  }
} finally {
  await admin.disconnect();
}
const summary = (client: 'kafkajs' | 'platformatic') => ({
  produceRecordsPerSecond: Math.round(median(runs[client].map((r) => r.produce))),
  consumeRecordsPerSecond: Math.round(median(runs[client].map((r) => r.consume))),
});
const kafkajs = summary('kafkajs');
const platformatic = summary('platformatic');
const result = {
  records: RECORDS,
  runs: RUNS,
  sendSize: SEND_SIZE,
  inFlight: IN_FLIGHT,
  recordBytes: Math.round(MESSAGES.reduce((sum, m) => sum + m.value.length, 0) / RECORDS),
  kafkajs,
  platformatic,
  ratios: {
    produce: round(platformatic.produceRecordsPerSecond / kafkajs.produceRecordsPerSecond, 2),
    consume: round(platformatic.consumeRecordsPerSecond / kafkajs.consumeRecordsPerSecond, 2),
  },
  raw: runs,
  node: process.version,
  at: new Date().toISOString(),
};
process.stdout.write(`${JSON.stringify({ ...result, raw: undefined }, null, 2)}\n`);
await writeResult(values.quick ? 'kafka-clients-quick' : 'kafka-clients', result);

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Admin, Producer } from '@platformatic/kafka';
import { KafkaBus } from '../../core/adapters/kafka/bus.ts';
import type { BusMessage } from '../../core/ports/bus.ts';
import { silentLogger } from '../../core/log.ts';
import { uniqueName, waitFor } from '../../core/testing/wait.ts';
import { stack } from '../support/stack.ts';

/** murmur2 of these keys as Kafka's own tests state them (clients/src/test/.../utils/UtilsTest.java). */
const JAVA_MURMUR2: Record<string, number> = {
  '21': -973932308,
  foobar: -790332482,
  'a-little-bit-long-string': -985981536,
  'a-little-bit-longer-string': -1486304829,
  lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8: -58897971,
};

// What the bus contract cannot ask of the in-memory twin: retention, and where keys land.
describe('the Kafka bus on Kafka 4.3', () => {
  const buses: KafkaBus[] = [];
  const open = async (partitions: number) => {
    const bus = new KafkaBus({ brokers: (await stack()).KAFKA_BROKERS.split(','), partitions, log: silentLogger });
    buses.push(bus);
    return bus;
  };
  after(async () => {
    await Promise.all(buses.map((bus) => bus.close()));
  });

  it('places each key on the partition the Java client puts it on', async () => {
    const bus = await open(7);
    const topic = uniqueName('kafka-keys');
    await bus.publish(
      topic,
      Object.keys(JAVA_MURMUR2).map((key) => ({ key, value: key })),
    );
    const seen: BusMessage[] = [];
    const consumer = await bus.consume({
      topics: [topic],
      group: uniqueName('g'),
      onBatch: async (batch) => void seen.push(...batch.messages),
    });
    await waitFor(() => seen.length >= 5, 60_000, 'every key');
    for (const message of seen) {
      assert.equal(message.partition, (JAVA_MURMUR2[message.key]! & 0x7fffffff) % 7, `partition of ${message.key}`);
    }
    await consumer.close();
  });

  it('reads batches compressed with gzip, snappy, lz4 and zstd by another producer', async () => {
    const bus = await open(1);
    const env = await stack();
    const topic = uniqueName('kafka-compressed');
    await bus.endOffsets(topic);
    const codecs = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
    const producer = new Producer({ clientId: 'bus-test', bootstrapBrokers: env.KAFKA_BROKERS.split(',') });
    try {
      for (const compression of codecs) {
        await producer.send({
          compression,
          messages: Array.from({ length: 50 }, (_, i) => ({
            topic,
            key: Buffer.from(compression),
            value: Buffer.from(`${compression}-${i}`),
          })),
        });
      }
    } finally {
      await producer.close();
    }
    const seen: BusMessage[] = [];
    const consumer = await bus.consume({
      topics: [topic],
      group: uniqueName('g'),
      onBatch: async (batch) => void seen.push(...batch.messages),
    });
    await waitFor(() => seen.length >= 200, 60_000, 'every compressed message');
    const decoder = new TextDecoder();
    assert.deepEqual(
      seen.map((m) => `${m.key}/${decoder.decode(m.value)}`),
      codecs.flatMap((codec) => Array.from({ length: 50 }, (_, i) => `${codec}/${codec}-${i}`)),
    );
    assert.deepEqual(
      seen.map((m) => m.offset),
      Array.from({ length: 200 }, (_, i) => i),
    );
    await consumer.close();
  });

  it("takes one publish of 3 MB for one partition, over the broker's 1 MiB batch limit, in order", async () => {
    const bus = await open(2);
    const topic = uniqueName('kafka-large-publish');
    const padding = 'x'.repeat(300);
    const messages = Array.from({ length: 10_000 }, (_, i) => ({ key: 'one-market', value: `${i} ${padding}` }));
    await bus.publish(topic, messages);
    const ends = await bus.endOffsets(topic);
    assert.equal(
      [...ends.values()].reduce((sum, end) => sum + end, 0),
      messages.length,
    );
    const seen: number[] = [];
    const consumer = await bus.consume({
      topics: [topic],
      group: uniqueName('kafka-large-group'),
      onBatch: async (batch) =>
        void seen.push(...batch.messages.map((message) => Number(Buffer.from(message.value).toString().split(' ')[0]))),
    });
    await waitFor(() => seen.length >= messages.length, 30_000, 'every message consumed');
    await consumer.close();
    assert.deepEqual(
      seen,
      messages.map((_, i) => i),
    );
  });

  it('starts at the oldest retained message when onAssigned gives an offset before it', async () => {
    const bus = await open(1);
    const env = await stack();
    const topic = uniqueName('kafka-retention');
    await bus.publish(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ key: 'one', value: `v${i}` })),
    );
    const admin = new Admin({ clientId: 'bus-test', bootstrapBrokers: env.KAFKA_BROKERS.split(',') });
    try {
      await admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 0, offset: 12n }] }] });
    } finally {
      await admin.close();
    }
    const seen: BusMessage[] = [];
    const consumer = await bus.consume({
      topics: [topic],
      group: uniqueName('g'),
      onAssigned: async (partitions) => new Map(partitions.map((tp) => [`${tp.topic}:${tp.partition}`, 3])),
      onBatch: async (batch) => void seen.push(...batch.messages),
    });
    await waitFor(() => seen.length >= 8, 60_000, 'the retained messages');
    assert.deepEqual(
      seen.map((m) => m.offset),
      [12, 13, 14, 15, 16, 17, 18, 19],
    );
    await consumer.close();
  });
});

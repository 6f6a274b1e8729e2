import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Bus, BusMessage, Consumer, MessageBatch, TopicPartition } from './bus.ts';
import { LakeError } from '../errors.ts';
import { uniqueName, waitFor } from '../testing/wait.ts';
import { busMembershipContract, type BusContractOptions } from './bus-membership.contract.ts';

export type { BusContractOptions };

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const keyOf = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;
const offsetsOf = (messages: BusMessage[], partition: number) => messages.filter((m) => m.partition === partition).map((m) => m.offset);
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
const keyed = (count: number, prefix = 'v') => Array.from({ length: count }, (_, i) => ({ key: `K${i}`, value: `${prefix}${i}` }));

/** Collects every delivered message. */
function collector() {
  const seen: BusMessage[] = [];
  return { seen, onBatch: async (batch: MessageBatch) => void seen.push(...batch.messages) };
}

/**
 * The behaviour every bus adapter must show, one test per sentence of the port. Run unchanged
 * against the in-memory bus and Kafka: if both pass, the embedded mode is honest. Each test uses
 * its own topics and groups.
 */
export function busContract(name: string, makeBus: () => Promise<Bus>, options: BusContractOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 30_000;
  describe(`Bus contract: ${name}`, { timeout: timeoutMs * 4 }, () => {
    const buses: Bus[] = [];
    const open = async () => {
      const bus = await makeBus();
      buses.push(bus);
      return bus;
    };
    after(async () => {
      await Promise.all(buses.map((bus) => bus.close()));
    });

    it('delivers every published message once, in key order, with increasing offsets', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const { seen, onBatch } = collector();
      const consumer = await bus.consume({ topics: [topic], group: uniqueName('g'), onBatch });
      const messages = Array.from({ length: 50 }, (_, i) => ({ key: `K${i % 5}`, value: `v${i}` }));
      await bus.publish(topic, messages);
      await waitFor(() => seen.length >= 50, timeoutMs, '50 messages');
      assert.equal(seen.length, 50);
      for (let k = 0; k < 5; k++) {
        const ofKey = seen.filter((m) => m.key === `K${k}`);
        assert.deepEqual(
          ofKey.map((m) => text(m.value)),
          messages.filter((m) => m.key === `K${k}`).map((m) => m.value),
        );
        assert.equal(new Set(ofKey.map((m) => m.partition)).size, 1, 'one key stays on one partition');
        const offsets = ofKey.map((m) => m.offset);
        assert.deepEqual(
          offsets,
          [...offsets].sort((a, b) => a - b),
        );
      }
      await consumer.close();
    });

    it('hands over the value bytes exactly as published, with topic, partition, offset and timestamp', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const { seen, onBatch } = collector();
      const consumer = await bus.consume({ topics: [topic], group: uniqueName('g'), onBatch });
      // Not UTF-8: a lone continuation byte, an overlong form, 0xff, a NUL, a truncated sequence.
      const binary = new Uint8Array([0x80, 0xc0, 0xaf, 0xff, 0xfe, 0x00, 0x41, 0xe2, 0x82]);
      const reused = new Uint8Array([1, 2, 3]);
      const before = Date.now();
      await bus.publish(topic, [
        { key: 'bytes', value: binary },
        { key: 'bytes', value: '{"symbol":"BTC","note":"€ — ✓ 𝄞"}' },
        { key: 'bytes', value: reused },
        { key: 'bytes', value: '' },
      ]);
      reused.fill(9);
      await waitFor(() => seen.length >= 4, timeoutMs, '4 messages');
      const [first, second, third, fourth] = seen;
      assert.ok(first!.value instanceof Uint8Array);
      assert.deepEqual([...first!.value], [...binary]);
      assert.deepEqual([...second!.value], [...new TextEncoder().encode('{"symbol":"BTC","note":"€ — ✓ 𝄞"}')]);
      assert.deepEqual([...third!.value], [1, 2, 3], 'the bytes as they were when publish was called');
      assert.equal(fourth!.value.length, 0);
      for (const message of seen) {
        assert.equal(message.key, 'bytes');
        assert.equal(message.topic, topic);
        assert.equal(message.partition, first!.partition);
        assert.ok(Math.abs(message.timestamp - before) < 60_000, `timestamp ${message.timestamp} near ${before}`);
      }
      assert.deepEqual(
        seen.map((m) => m.offset - first!.offset),
        [0, 1, 2, 3],
      );
      await consumer.close();
    });

    it('redelivers uncommitted messages to the next member, and calls onBatch only after consume resolved', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const group = uniqueName('g');
      await bus.publish(topic, keyed(20));
      const first: BusMessage[] = [];
      let early = false;
      const returned: { consumer?: Consumer } = {};
      const consumer1 = (returned.consumer = await bus.consume({
        topics: [topic],
        group,
        onBatch: async (batch) => {
          early ||= returned.consumer === undefined;
          first.push(...batch.messages);
          // Commit only the first message of each batch: the rest must come again.
          await returned.consumer!.commit([{ topic, partition: batch.partition, nextOffset: batch.messages[0]!.offset + 1 }]);
        },
      }));
      await waitFor(() => first.length >= 20, timeoutMs, 'first pass');
      assert.equal(early, false, 'no batch before consume resolved');
      await consumer1.close();
      const committed = await bus.committedOffsets(group, topic);
      const expected = first
        .filter((m) => m.offset >= (committed.get(m.partition) ?? 0))
        .map((m) => text(m.value))
        .sort();
      assert.ok(expected.length > 0, 'some messages were left uncommitted');
      const { seen, onBatch } = collector();
      const consumer2 = await bus.consume({ topics: [topic], group, onBatch });
      await waitFor(() => seen.length >= expected.length, timeoutMs, 'redelivery');
      assert.deepEqual(seen.map((m) => text(m.value)).sort(), expected);
      await consumer2.close();
    });

    it('reports committed and end offsets', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const group = uniqueName('g');
      await bus.publish(topic, keyed(10));
      const consumer = await bus.consume({
        topics: [topic],
        group,
        onBatch: async (batch) => consumer.commit([{ topic, partition: batch.partition, nextOffset: batch.messages.at(-1)!.offset + 1 }]),
      });
      const ends = await bus.endOffsets(topic);
      assert.equal(
        [...ends.values()].reduce((a, b) => a + b, 0),
        10,
      );
      await waitFor(
        async () => {
          const committed = await bus.committedOffsets(group, topic);
          return [...ends].every(([partition, end]) => end === 0 || committed.get(partition) === end);
        },
        timeoutMs,
        'commits to reach the end offsets',
      );
      assert.deepEqual(await bus.committedOffsets(uniqueName('never'), topic), new Map());
      await consumer.close();
    });

    it('starts a partition at its end when asked for the latest messages', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      await bus.publish(topic, [{ key: 'old', value: 'old' }]);
      const { seen, onBatch } = collector();
      const consumer = await bus.consume({ topics: [topic], group: uniqueName('g'), from: 'latest', onBatch });
      await bus.publish(topic, [{ key: 'new', value: 'new' }]);
      await waitFor(() => seen.some((m) => text(m.value) === 'new'), timeoutMs, 'the new message');
      assert.deepEqual(
        seen.map((m) => text(m.value)),
        ['new'],
      );
      await consumer.close();
    });

    it('delivers a failed batch again from where the partition started, then from the last commit', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      await bus.publish(
        topic,
        keyed(10).map((message) => ({ ...message, key: 'one' })),
      );
      const firsts: number[] = [];
      let failures = 0;
      const consumer = await bus.consume({
        topics: [topic],
        group: uniqueName('g'),
        onAssigned: async (partitions) => new Map(partitions.map((tp) => [keyOf(tp), 3])),
        onBatch: async (batch) => {
          firsts.push(batch.messages[0]!.offset);
          if (failures === 0) {
            failures++;
            throw new Error('handler failed before any commit');
          }
          if (failures === 1) {
            failures++;
            await consumer.commit([{ topic, partition: batch.partition, nextOffset: batch.messages[0]!.offset + 1 }]);
            throw new Error('handler failed after a commit');
          }
        },
      });
      await waitFor(() => firsts.length >= 3, timeoutMs, 'two redeliveries');
      assert.deepEqual(firsts.slice(0, 3), [3, 3, 4]);
      await consumer.close();
    });

    it('starts each assigned partition at the offset onAssigned returns, before delivering any of it', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const group = uniqueName('g');
      await bus.publish(topic, keyed(60));
      const ends = await bus.endOffsets(topic);
      const partitions = [...ends.keys()].sort((a, b) => a - b);
      assert.ok(partitions.length >= 3, 'the topic has at least 3 partitions');
      const half = (partition: number) => Math.floor(ends.get(partition)! / 2);
      // The group's commits: half of each partition.
      const committer = await bus.consume({ topics: [topic], group, onBatch: async () => {} });
      await committer.commit(partitions.map((partition) => ({ topic, partition, nextOffset: half(partition) })));
      await committer.close();

      // The first partition goes back below the commit, the second past its end, the rest are left out.
      const [low, past] = partitions as [number, number];
      const starts = new Map(partitions.map((partition) => [partition, half(partition)]));
      starts.set(low, 1);
      starts.set(past, ends.get(past)!);
      const calls: TopicPartition[][] = [];
      const { seen, onBatch } = collector();
      const consumer = await bus.consume({
        topics: [topic],
        group,
        onAssigned: async (assigned) => {
          calls.push(assigned);
          assert.equal(seen.length, 0, 'nothing delivered before onAssigned resolved');
          return new Map([
            [keyOf({ topic, partition: low }), 1],
            [keyOf({ topic, partition: past }), ends.get(past)! + 100],
          ]);
        },
        onBatch,
      });
      assert.deepEqual(
        calls.flat().map((tp) => tp.partition),
        partitions,
      );
      assert.deepEqual(
        consumer.assignment(),
        partitions.map((partition) => ({ topic, partition })),
      );
      await bus.publish(topic, keyed(30, 'w'));
      const newEnds = await bus.endOffsets(topic);
      const expected = partitions.reduce((sum, partition) => sum + newEnds.get(partition)! - starts.get(partition)!, 0);
      await waitFor(() => seen.length >= expected, timeoutMs, `${expected} messages`);
      for (const partition of partitions) {
        assert.deepEqual(offsetsOf(seen, partition), range(starts.get(partition)!, newEnds.get(partition)!), `partition ${partition}`);
      }
      await consumer.close();
    });

    it('asks onAssigned again when it fails, and delivers nothing of its partitions meanwhile', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      await bus.publish(
        topic,
        keyed(10).map((message) => ({ ...message, key: 'one' })),
      );
      const events: string[] = [];
      const consumer = await bus.consume({
        topics: [topic],
        group: uniqueName('g'),
        onAssigned: async (partitions) => {
          events.push('assigned');
          if (events.length === 1) throw new Error('the lake is unreachable');
          return new Map(partitions.map((tp) => [keyOf(tp), 2]));
        },
        onBatch: async (batch) => void events.push(`batch from ${batch.messages[0]!.offset}`),
      });
      await waitFor(() => events.some((event) => event.startsWith('batch')), timeoutMs, 'a batch');
      assert.deepEqual(events.slice(0, 3), ['assigned', 'assigned', 'batch from 2']);
      await consumer.close();
    });

    it('delivers from the offset given to seek, and refuses to seek a partition it does not own', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      await bus.publish(
        topic,
        keyed(20).map((message) => ({ ...message, key: 'one' })),
      );
      const { seen, onBatch } = collector();
      const consumer = await bus.consume({ topics: [topic], group: uniqueName('g'), onBatch });
      await waitFor(() => seen.length >= 20, timeoutMs, '20 messages');
      const { partition } = seen[0]!;
      consumer.seek({ topic, partition }, 5);
      await waitFor(() => seen.length >= 35, timeoutMs, 'the 15 messages from offset 5');
      assert.deepEqual(
        seen.slice(20).map((m) => m.offset),
        range(5, 20),
      );
      assert.throws(
        () => consumer.seek({ topic, partition: 999 }, 0),
        (error: unknown) => error instanceof LakeError && error.code === 'BUS_NOT_OWNER',
      );
      await consumer.close();
    });

    it('waits for the batch in flight of a partition before delivering its next one', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const inFlight = new Map<number, number>();
      let overlapped = false;
      const seen: BusMessage[] = [];
      const consumer = await bus.consume({
        topics: [topic],
        group: uniqueName('g'),
        onBatch: async (batch) => {
          const running = (inFlight.get(batch.partition) ?? 0) + 1;
          inFlight.set(batch.partition, running);
          overlapped ||= running > 1;
          // A slow handler: the bus has time to fetch the next batch meanwhile.
          await new Promise((resolve) => setTimeout(resolve, 30));
          seen.push(...batch.messages);
          inFlight.set(batch.partition, running - 1);
        },
      });
      for (let i = 0; i < 10; i++) await bus.publish(topic, keyed(20, `r${i}-`));
      await waitFor(() => seen.length >= 200, timeoutMs, '200 messages');
      assert.equal(overlapped, false, 'two batches of one partition were in flight together');
      for (const partition of new Set(seen.map((m) => m.partition))) {
        const offsets = offsetsOf(seen, partition);
        assert.deepEqual(offsets, range(offsets[0]!, offsets[0]! + offsets.length), `partition ${partition} in order, once`);
      }
      await consumer.close();
    });

    it('delivers nothing while paused, then resumes where it stopped', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const { seen, onBatch } = collector();
      const consumer = await bus.consume({ topics: [topic], group: uniqueName('g'), onBatch });
      await bus.publish(topic, keyed(10, 'a'));
      await waitFor(() => seen.length >= 10, timeoutMs, 'the first 10');
      consumer.setPaused(true);
      await bus.publish(topic, keyed(10, 'b'));
      // Another group reading the same messages shows they were there to be fetched.
      const control = collector();
      const witness = await bus.consume({ topics: [topic], group: uniqueName('witness'), onBatch: control.onBatch });
      await waitFor(() => control.seen.length >= 20, timeoutMs, 'the witness to read all 20');
      assert.equal(seen.length, 10, 'nothing delivered while paused');
      consumer.setPaused(false);
      await waitFor(() => seen.length >= 20, timeoutMs, 'the 10 published while paused');
      assert.deepEqual(seen.map((m) => text(m.value)).sort(), [...keyed(10, 'a'), ...keyed(10, 'b')].map((m) => m.value).sort());
      await Promise.all([consumer.close(), witness.close()]);
    });

    it('on close, finishes the batch in flight, runs onRevoked, then delivers nothing more', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const events: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const seen: BusMessage[] = [];
      const consumer = await bus.consume({
        topics: [topic],
        group: uniqueName('g'),
        onBatch: async (batch) => {
          events.push('batch start');
          await gate;
          seen.push(...batch.messages);
          events.push('batch end');
        },
        onRevoked: (partitions) => void events.push(`revoked ${partitions.length}`),
      });
      await bus.publish(topic, [{ key: 'one', value: 'first' }]);
      await waitFor(() => events.includes('batch start'), timeoutMs, 'a batch in flight');
      let closed = false;
      const closing = consumer.close().then(() => (closed = true));
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(closed, false, 'close waits for the batch in flight');
      release();
      await closing;
      const assigned = (await bus.endOffsets(topic)).size;
      assert.deepEqual(events.slice(-2), ['batch end', `revoked ${assigned}`]);
      assert.deepEqual(consumer.assignment(), []);
      await bus.publish(topic, [{ key: 'one', value: 'after close' }]);
      const control = collector();
      const witness = await bus.consume({ topics: [topic], group: uniqueName('witness'), onBatch: control.onBatch });
      await waitFor(() => control.seen.length >= 2, timeoutMs, 'the witness to read both');
      assert.deepEqual(
        seen.map((m) => text(m.value)),
        ['first'],
      );
      await witness.close();
    });

    it('reports itself healthy', async () => {
      const bus = await open();
      assert.equal((await bus.health()).ok, true);
    });
  });

  busMembershipContract(name, makeBus, options);
}

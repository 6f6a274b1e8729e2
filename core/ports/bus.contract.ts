import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Bus, BusMessage } from './bus.ts';
import { uniqueName, waitFor } from '../testing/wait.ts';

/**
 * The behaviour every bus adapter must show. Run unchanged against the in-memory bus and Kafka:
 * if both pass, the embedded mode is honest. Each test uses its own topic and group.
 */
export function busContract(name: string, makeBus: () => Promise<Bus>, timeoutMs = 30_000): void {
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
      const seen: BusMessage[] = [];
      const sub = await bus.subscribe({ topic, group: uniqueName('g'), onBatch: async (batch) => void seen.push(...batch.messages) });
      const messages = Array.from({ length: 50 }, (_, i) => ({ key: `K${i % 5}`, value: `v${i}` }));
      await bus.publish(topic, messages);
      await waitFor(() => seen.length >= 50, timeoutMs, '50 messages');
      assert.equal(seen.length, 50);
      for (let k = 0; k < 5; k++) {
        const ofKey = seen.filter((m) => m.key === `K${k}`);
        assert.deepEqual(
          ofKey.map((m) => m.value),
          messages.filter((m) => m.key === `K${k}`).map((m) => m.value),
        );
        const partitions = new Set(ofKey.map((m) => m.partition));
        assert.equal(partitions.size, 1, 'one key stays on one partition');
        const offsets = ofKey.map((m) => m.offset);
        assert.deepEqual(
          offsets,
          [...offsets].sort((a, b) => a - b),
        );
      }
      await sub.close();
    });

    it('redelivers uncommitted messages to the next consumer of the group', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const group = uniqueName('g');
      await bus.publish(
        topic,
        Array.from({ length: 20 }, (_, i) => ({ key: `K${i}`, value: `v${i}` })),
      );
      const first: BusMessage[] = [];
      const sub1 = await bus.subscribe({
        topic,
        group,
        onBatch: async (batch) => {
          first.push(...batch.messages);
          // Commit only the first message of each batch: the rest must come again.
          await sub1.commit(batch.partition, batch.messages[0]!.offset + 1);
        },
      });
      await waitFor(() => first.length >= 20, timeoutMs, 'first pass');
      await sub1.close();
      const committed = await bus.committedOffsets(group, topic);
      const expected = first
        .filter((m) => m.offset >= (committed.get(m.partition) ?? 0))
        .map((m) => m.value)
        .sort();
      assert.ok(expected.length > 0, 'some messages were left uncommitted');
      const second: BusMessage[] = [];
      const sub2 = await bus.subscribe({ topic, group, onBatch: async (batch) => void second.push(...batch.messages) });
      await waitFor(() => second.length >= expected.length, timeoutMs, 'redelivery');
      assert.deepEqual(second.map((m) => m.value).sort(), expected);
      await sub2.close();
    });

    it('reports committed and end offsets', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const group = uniqueName('g');
      await bus.publish(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ key: `K${i}`, value: `v${i}` })),
      );
      const sub = await bus.subscribe({
        topic,
        group,
        onBatch: async (batch) => sub.commit(batch.partition, batch.messages.at(-1)!.offset + 1),
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
      await sub.close();
    });

    it('starts a new group at the end when asked for the latest messages', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      await bus.publish(topic, [{ key: 'old', value: 'old' }]);
      const seen: string[] = [];
      const sub = await bus.subscribe({
        topic,
        group: uniqueName('g'),
        from: 'latest',
        onBatch: async (batch) => void seen.push(...batch.messages.map((m) => m.value)),
      });
      await bus.publish(topic, [{ key: 'new', value: 'new' }]);
      await waitFor(() => seen.includes('new'), timeoutMs, 'the new message');
      assert.deepEqual(seen, ['new']);
      await sub.close();
    });

    it('delivers a failed batch again from the last commit', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      let failures = 0;
      const seen: string[] = [];
      const sub = await bus.subscribe({
        topic,
        group: uniqueName('g'),
        onBatch: async (batch) => {
          if (failures === 0) {
            failures++;
            throw new Error('handler failed once');
          }
          seen.push(...batch.messages.map((m) => m.value));
          await sub.commit(batch.partition, batch.messages.at(-1)!.offset + 1);
        },
      });
      await bus.publish(topic, [{ key: 'k', value: 'once' }]);
      await waitFor(() => seen.includes('once'), timeoutMs, 'redelivery after a failure');
      assert.equal(failures, 1);
      await sub.close();
    });

    it('shares partitions between two members of a group and revokes before moving them', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const group = uniqueName('g');
      const revoked: number[] = [];
      const sub1 = await bus.subscribe({
        topic,
        group,
        onBatch: async () => {},
        onRevoked: (partitions) => void revoked.push(...partitions),
      });
      await waitFor(() => sub1.assignment().length > 0, timeoutMs, 'an assignment');
      const all = sub1.assignment();
      const sub2 = await bus.subscribe({ topic, group, onBatch: async () => {} });
      await waitFor(
        () => sub2.assignment().length > 0 && sub1.assignment().length + sub2.assignment().length === all.length,
        timeoutMs,
        'a shared assignment',
      );
      assert.deepEqual([...sub1.assignment(), ...sub2.assignment()].sort(), [...all].sort());
      assert.ok(revoked.length > 0, 'the first member was told which partitions it lost');
      await sub2.close();
      await sub1.close();
    });
  });
}

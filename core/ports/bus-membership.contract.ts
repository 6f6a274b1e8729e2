import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Bus, BusMessage, Consumer, TopicPartition } from './bus.ts';
import { LakeError } from '../errors.ts';
import { uniqueName, waitFor } from '../testing/wait.ts';

/** How the contract suites run against one adapter. */
export interface BusContractOptions {
  /** How long a test waits for what it checks (default 30 s). */
  timeoutMs?: number;
  /** How soon a member with the instanceId of a live one must own its partitions (default 10 s). */
  staticTakeoverMs?: number;
}

const keyOf = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;
const keys = (partitions: TopicPartition[]) => partitions.map(keyOf).sort();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rejectsWith = (promise: Promise<unknown>, code: LakeError['code']) =>
  assert.rejects(promise, (error: unknown) => error instanceof LakeError && error.code === code);

/** Every partition of `topics`, as the bus reports them. */
async function partitionsOf(bus: Bus, topics: string[]): Promise<TopicPartition[]> {
  const all: TopicPartition[] = [];
  for (const topic of topics) for (const partition of (await bus.endOffsets(topic)).keys()) all.push({ topic, partition });
  return all;
}

/** True when the members own every partition of `all` between them, each once, and each owns some. */
function shared(members: Consumer[], all: TopicPartition[]): boolean {
  const owned = members.map((member) => member.assignment());
  return owned.every((partitions) => partitions.length > 0) && JSON.stringify(keys(owned.flat())) === JSON.stringify(keys(all));
}

/** The group half of the bus contract: memberships over several topics, revocation, static members, commit fencing. */
export function busMembershipContract(name: string, makeBus: () => Promise<Bus>, options: BusContractOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staticTakeoverMs = options.staticTakeoverMs ?? 10_000;
  describe(`Bus contract, group membership: ${name}`, { timeout: timeoutMs * 4 }, () => {
    const buses: Bus[] = [];
    const open = async () => {
      const bus = await makeBus();
      buses.push(bus);
      return bus;
    };
    after(async () => {
      await Promise.all(buses.map((bus) => bus.close()));
    });

    it('reads several topics in one membership and shares them with the next member', async () => {
      const bus = await open();
      const topics = [uniqueName('contract-a'), uniqueName('contract-b')];
      const group = uniqueName('g');
      const seen: BusMessage[] = [];
      const first = await bus.consume({ topics, group, onBatch: async (batch) => void seen.push(...batch.messages) });
      const all = await partitionsOf(bus, topics);
      assert.deepEqual(keys(first.assignment()), keys(all), 'one member owns the partitions of both topics');
      for (const topic of topics) await bus.publish(topic, [{ key: 'k', value: topic }]);
      await waitFor(() => seen.length >= 2, timeoutMs, 'a message of each topic');
      assert.deepEqual(seen.map((m) => m.topic).sort(), [...topics].sort());
      await first.commit(seen.map((m) => ({ topic: m.topic, partition: m.partition, nextOffset: m.offset + 1 })));
      for (const m of seen) assert.equal((await bus.committedOffsets(group, m.topic)).get(m.partition), m.offset + 1);

      const second = await bus.consume({ topics, group, onBatch: async () => {} });
      await waitFor(() => shared([first, second], all), timeoutMs, 'both members to share every partition');
      await Promise.all([first.close(), second.close()]);
    });

    it('revokes partitions after their batches settled and before their next owner reads them', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const group = uniqueName('g');
      const events: string[] = [];
      const consumer1 = await bus.consume({
        topics: [topic],
        group,
        onAssigned: async (partitions) => {
          for (const tp of partitions) events.push(`1 assigned ${tp.partition}`);
          return new Map();
        },
        onBatch: async (batch) => {
          events.push(`1 start ${batch.partition}`);
          // Slow work: a rebalance is likely to find a batch in flight.
          await sleep(100);
          events.push(`1 end ${batch.partition}`);
        },
        onRevoked: async (partitions) => {
          await sleep(50);
          for (const tp of partitions) events.push(`1 revoked ${tp.partition}`);
        },
      });
      const all = await partitionsOf(bus, [topic]);
      let publishing = true;
      const publisher = (async () => {
        for (let i = 0; publishing; i++) {
          await bus.publish(
            topic,
            all.map((_, k) => ({ key: `K${k}-${i}`, value: `${i}` })),
          );
          await sleep(20);
        }
      })();
      await waitFor(() => events.some((event) => event.startsWith('1 start')), timeoutMs, 'the first member to work');
      const consumer2 = await bus.consume({
        topics: [topic],
        group,
        onAssigned: async (partitions) => {
          for (const tp of partitions) events.push(`2 assigned ${tp.partition}`);
          return new Map();
        },
        onBatch: async (batch) => void events.push(`2 start ${batch.partition}`),
      });
      await waitFor(() => shared([consumer1, consumer2], all), timeoutMs, 'a shared assignment');
      await waitFor(
        () => consumer2.assignment().every((tp) => events.includes(`2 start ${tp.partition}`)),
        timeoutMs,
        'the second member to read each of its partitions',
      );
      publishing = false;
      await publisher;
      for (const { partition } of consumer2.assignment()) {
        const revoked = events.indexOf(`1 revoked ${partition}`);
        assert.ok(revoked >= 0, `partition ${partition} was revoked from the first member`);
        const startsBefore = events.slice(0, revoked).filter((event) => event === `1 start ${partition}`).length;
        const endsBefore = events.slice(0, revoked).filter((event) => event === `1 end ${partition}`).length;
        assert.equal(endsBefore, startsBefore, `the batches of ${partition} settled before its revocation`);
        assert.ok(revoked < events.indexOf(`2 assigned ${partition}`), `${partition} revoked before it was assigned again`);
        assert.ok(events.indexOf(`2 assigned ${partition}`) < events.indexOf(`2 start ${partition}`), `${partition} assigned before read`);
        // The first member got nothing more of it, unless the group gave it back.
        const later = events.slice(revoked);
        const back = later.indexOf(`1 assigned ${partition}`);
        assert.equal(later.slice(0, back < 0 ? undefined : back).includes(`1 start ${partition}`), false);
      }
      await Promise.all([consumer1.close(), consumer2.close()]);
    });

    it('gives a member joining with the instanceId of a live one its partitions, and fences the older', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const group = uniqueName('g');
      const all = await partitionsOf(bus, [topic]);
      const otherEvents: string[] = [];
      const older = await bus.consume({ topics: [topic], group, instanceId: 'member-a', onBatch: async () => {} });
      const other = await bus.consume({
        topics: [topic],
        group,
        instanceId: 'member-b',
        onAssigned: async (partitions) => {
          otherEvents.push(`assigned ${keys(partitions).join(',')}`);
          return new Map();
        },
        onRevoked: (partitions) => void otherEvents.push(`revoked ${keys(partitions).join(',')}`),
        onBatch: async () => {},
      });
      await waitFor(() => shared([older, other], all), timeoutMs, 'both members to share every partition');
      const olderPartitions = older.assignment();
      const otherPartitions = other.assignment();
      const otherEventsBefore = otherEvents.length;

      // The older member is left running, as a crashed process would be left: never closed.
      const seen: BusMessage[] = [];
      const started = Date.now();
      const newer = await bus.consume({
        topics: [topic],
        group,
        instanceId: 'member-a',
        onBatch: async (batch) => void seen.push(...batch.messages),
      });
      await waitFor(() => keys(newer.assignment()).join() === keys(olderPartitions).join(), staticTakeoverMs, 'the takeover');
      const tookMs = Date.now() - started;
      assert.ok(tookMs <= staticTakeoverMs, `took over in ${tookMs} ms`);
      await waitFor(() => older.assignment().length === 0, timeoutMs, 'the older member to learn it was fenced');
      await rejectsWith(older.commit([{ ...olderPartitions[0]!, nextOffset: 0 }]), 'BUS_NOT_OWNER');

      await bus.publish(
        topic,
        Array.from({ length: 30 }, (_, i) => ({ key: `K${i}`, value: `${i}` })),
      );
      await waitFor(() => seen.length > 0, timeoutMs, 'the newer member to read');
      assert.deepEqual(keys(other.assignment()), keys(otherPartitions), 'the other member kept its partitions');
      assert.equal(otherEvents.length, otherEventsBefore, 'the other member saw no rebalance');
      await older.close();
      assert.deepEqual(keys(newer.assignment()), keys(olderPartitions), 'closing the fenced member does not touch the newer');
      await Promise.all([newer.close(), other.close()]);
    });

    it('refuses to commit a partition the member does not own, and then commits none', async () => {
      const bus = await open();
      const topic = uniqueName('contract');
      const group = uniqueName('g');
      const all = await partitionsOf(bus, [topic]);
      const consumer1 = await bus.consume({ topics: [topic], group, onBatch: async () => {} });
      const consumer2 = await bus.consume({ topics: [topic], group, onBatch: async () => {} });
      await waitFor(() => shared([consumer1, consumer2], all), timeoutMs, 'a shared assignment');
      const mine = consumer1.assignment()[0]!;
      const theirs = consumer2.assignment()[0]!;
      await rejectsWith(consumer1.commit([{ ...theirs, nextOffset: 1 }]), 'BUS_NOT_OWNER');
      await rejectsWith(consumer1.commit([{ topic: uniqueName('elsewhere'), partition: 0, nextOffset: 1 }]), 'BUS_NOT_OWNER');
      await rejectsWith(
        consumer1.commit([
          { ...mine, nextOffset: 1 },
          { ...theirs, nextOffset: 1 },
        ]),
        'BUS_NOT_OWNER',
      );
      assert.deepEqual(await bus.committedOffsets(group, topic), new Map());
      await consumer1.commit([{ ...mine, nextOffset: 0 }]);
      assert.deepEqual(await bus.committedOffsets(group, topic), new Map([[mine.partition, 0]]));
      await Promise.all([consumer1.close(), consumer2.close()]);
    });
  });
}

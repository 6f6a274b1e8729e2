import type { Bus, BusMessage, MessageBatch, SubscribeOptions, Subscription } from '../../ports/bus.ts';
import type { Health } from '../../ports/health.ts';
import { LakeError } from '../../errors.ts';
import { partitionForKey } from './partitioner.ts';

export interface MemoryBusOptions {
  /** Partitions of a topic created on first use. */
  partitions?: number;
  /** Most messages handed to one `onBatch` call. */
  maxBatchMessages?: number;
  /** Pause before a partition whose handler failed is delivered again. */
  retryDelayMs?: number;
}

interface Group {
  committed: Map<number, number>;
  members: Member[];
}

/**
 * The in-memory bus: topics with partitions and offsets, consumer groups that share the
 * partitions round-robin and rebalance when members join or leave, offsets committed only
 * when asked. It lives as long as the process: it is the embedded twin of Kafka, not a store.
 */
export class MemoryBus implements Bus {
  private readonly topics = new Map<string, BusMessage[][]>();
  private readonly groups = new Map<string, Group>();
  private readonly partitions: number;
  readonly maxBatchMessages: number;
  readonly retryDelayMs: number;
  private closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.partitions = options.partitions ?? 3;
    this.maxBatchMessages = options.maxBatchMessages ?? 5_000;
    this.retryDelayMs = options.retryDelayMs ?? 200;
  }

  async publish(topic: string, messages: { key: string; value: string }[]): Promise<void> {
    this.assertOpen();
    const log = this.topic(topic);
    const now = Date.now();
    for (const { key, value } of messages) {
      const partition = partitionForKey(key, log.length);
      const messagesOfPartition = log[partition]!;
      messagesOfPartition.push({ key, value, partition, offset: messagesOfPartition.length, timestamp: now });
    }
    for (const [name, group] of this.groups) {
      if (name.startsWith(`${topic}\u0000`)) for (const member of group.members) member.pump();
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    const log = this.topic(options.topic);
    const groupKey = `${options.topic}\u0000${options.group}`;
    let group = this.groups.get(groupKey);
    if (!group) {
      group = { committed: new Map(), members: [] };
      if (options.from === 'latest') log.forEach((messages, partition) => group!.committed.set(partition, messages.length));
      this.groups.set(groupKey, group);
    }
    const member = new Member(this, log, group, options);
    group.members.push(member);
    await rebalance(group, log.length);
    return member;
  }

  async endOffsets(topic: string): Promise<Map<number, number>> {
    return new Map(this.topic(topic).map((messages, partition) => [partition, messages.length]));
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    return new Map(this.groups.get(`${topic}\u0000${group}`)?.committed ?? []);
  }

  async health(): Promise<Health> {
    return this.closed ? { ok: false, detail: 'closed' } : { ok: true, detail: `in-memory, ${this.topics.size} topics` };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const members = [...this.groups.values()].flatMap((group) => group.members);
    await Promise.all(members.map((member) => member.close()));
    this.closed = true;
  }

  private topic(name: string): BusMessage[][] {
    let log = this.topics.get(name);
    if (!log) {
      log = Array.from({ length: this.partitions }, () => []);
      this.topics.set(name, log);
    }
    return log;
  }

  private assertOpen(): void {
    if (this.closed) throw new LakeError('BUS_CLOSED', 'the in-memory bus is closed');
  }
}

/** Gives each member of the group an even share of the partitions, revoking moved ones first. */
async function rebalance(group: Group, partitionCount: number): Promise<void> {
  const target = new Map<Member, number[]>(group.members.map((member) => [member, []]));
  for (let partition = 0; partition < partitionCount; partition++) {
    const member = group.members[partition % group.members.length];
    if (member) target.get(member)!.push(partition);
  }
  await Promise.all(group.members.map((member) => member.revokeAllBut(target.get(member)!)));
  for (const member of group.members) member.assign(target.get(member)!);
}

/** Where a member is in one of its partitions. */
interface PartitionState {
  position: number;
  inFlight?: Promise<void>;
  /** After a failed batch: not before this time (epoch ms). */
  retryAt?: number;
  retryScheduled?: boolean;
}

/** One consumer of a group: delivers its partitions one batch at a time each. */
class Member implements Subscription {
  private readonly owned = new Map<number, PartitionState>();
  private paused = false;
  private closed = false;

  constructor(
    private readonly bus: MemoryBus,
    private readonly log: BusMessage[][],
    private readonly group: Group,
    private readonly options: SubscribeOptions,
  ) {}

  async commit(partition: number, nextOffset: number): Promise<void> {
    if (!this.owned.has(partition)) {
      throw new LakeError(
        'BUS_UNAVAILABLE',
        `cannot commit partition ${partition} of ${this.options.topic}: not assigned to this consumer`,
      );
    }
    this.group.committed.set(partition, nextOffset);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  assignment(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.revokeAllBut([]);
    this.group.members.splice(this.group.members.indexOf(this), 1);
    await rebalance(this.group, this.log.length);
  }

  /** Takes away every owned partition not in `keep`, after its in-flight batch resolved. */
  async revokeAllBut(keep: number[]): Promise<void> {
    const revoked = this.assignment().filter((partition) => !keep.includes(partition));
    if (revoked.length === 0) return;
    await Promise.allSettled(revoked.map((partition) => this.owned.get(partition)?.inFlight));
    for (const partition of revoked) this.owned.delete(partition);
    await this.options.onRevoked?.(revoked);
  }

  assign(partitions: number[]): void {
    if (this.closed) return;
    for (const partition of partitions) {
      if (!this.owned.has(partition)) this.owned.set(partition, { position: this.group.committed.get(partition) ?? 0 });
    }
    this.pump();
  }

  /** Starts a delivery on every owned partition that is idle and has messages waiting. */
  pump(): void {
    if (this.paused || this.closed) return;
    for (const [partition, state] of this.owned) {
      if (state.inFlight) continue;
      const wait = (state.retryAt ?? 0) - Date.now();
      if (wait > 0) {
        // Timers may fire a little early: try again when the retry time has really come.
        if (!state.retryScheduled) {
          state.retryScheduled = true;
          setTimeout(() => {
            state.retryScheduled = false;
            this.pump();
          }, wait).unref();
        }
        continue;
      }
      const messages = this.log[partition]!.slice(state.position, state.position + this.bus.maxBatchMessages);
      if (messages.length === 0) continue;
      state.inFlight = this.deliver({ topic: this.options.topic, partition, messages }, state);
    }
  }

  private async deliver(batch: MessageBatch, state: PartitionState): Promise<void> {
    // Let the caller finish its synchronous work first, as a network consumer would.
    await Promise.resolve();
    try {
      await this.options.onBatch(batch);
      state.position = batch.messages.at(-1)!.offset + 1;
    } catch {
      // A failed handler sees the partition again from its last commit, as after a Kafka restart.
      state.position = this.group.committed.get(batch.partition) ?? 0;
      state.retryAt = Date.now() + this.bus.retryDelayMs;
    } finally {
      state.inFlight = undefined;
    }
    queueMicrotask(() => this.pump());
  }
}

import type { Bus, BusMessage, ConsumeOptions, Consumer } from '../../ports/bus.ts';
import type { Health } from '../../ports/health.ts';
import { silentLogger, type Logger } from '../../log.ts';
import { LakeError } from '../../errors.ts';
import { partitionForKey } from './partitioner.ts';
import { Group } from './group.ts';
import { Member } from './member.ts';

export interface MemoryBusOptions {
  /** Partitions of a topic created on first use. */
  partitions?: number;
  /** Most messages handed to one `onBatch` call. */
  maxBatchMessages?: number;
  /** Pause before a partition whose handler failed is delivered again, and between onAssigned attempts. */
  retryDelayMs?: number;
  /** Where failing onAssigned and onRevoked callbacks are reported. */
  log?: Logger;
}

const encoder = new TextEncoder();

/**
 * The in-memory bus: topics with partitions and offsets, consumer groups whose members read
 * several topics and share their partitions round-robin, rebalancing when members join, leave or
 * replace one another (static membership); offsets committed only when asked. It lives as long as
 * the process: it is the embedded twin of Kafka, not a store.
 */
export class MemoryBus implements Bus {
  private readonly topics = new Map<string, BusMessage[][]>();
  private readonly groups = new Map<string, Group>();
  private readonly partitions: number;
  private readonly maxBatchMessages: number;
  private readonly retryDelayMs: number;
  private readonly log: Logger;
  private closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.partitions = options.partitions ?? 3;
    this.maxBatchMessages = options.maxBatchMessages ?? 5_000;
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.log = options.log ?? silentLogger;
  }

  async publish(topic: string, messages: { key: string; value: string | Uint8Array }[]): Promise<void> {
    this.assertOpen();
    const log = this.topic(topic);
    const now = Date.now();
    for (const { key, value } of messages) {
      const partition = partitionForKey(key, log.length);
      const messagesOfPartition = log[partition]!;
      // Copied: the caller may reuse its buffer once publish resolved.
      const bytes = typeof value === 'string' ? encoder.encode(value) : value.slice();
      messagesOfPartition.push({ key, value: bytes, topic, partition, offset: messagesOfPartition.length, timestamp: now });
    }
    for (const group of this.groups.values()) {
      for (const member of group.readersOf(topic)) member.pump();
    }
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    if (options.topics.length === 0) throw new LakeError('CONFIG_INVALID', `consumer of group ${options.group} reads no topic`);
    for (const topic of options.topics) this.topic(topic);
    let group = this.groups.get(options.group);
    if (!group) {
      group = new Group((topic) => this.topic(topic).length);
      this.groups.set(options.group, group);
    }
    const member = new Member(
      {
        log: (topic) => this.topic(topic),
        committed: (topic) => group.committedOf(topic),
        leave: (leaving) => group.leave(leaving),
        maxBatchMessages: this.maxBatchMessages,
        retryDelayMs: this.retryDelayMs,
        logger: this.log,
      },
      options,
    );
    await group.join(member);
    member.begin();
    return member;
  }

  async endOffsets(topic: string): Promise<Map<number, number>> {
    return new Map(this.topic(topic).map((messages, partition) => [partition, messages.length]));
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    return new Map(this.groups.get(group)?.committed.get(topic) ?? []);
  }

  async health(): Promise<Health> {
    return this.closed ? { ok: false, detail: 'closed' } : { ok: true, detail: `in-memory, ${this.topics.size} topics` };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const members = [...this.groups.values()].flatMap((group) => group.all());
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

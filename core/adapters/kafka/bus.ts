import {
  Admin,
  Consumer as PlatformaticConsumer,
  ListOffsetTimestamps,
  Producer,
  ProduceAcks,
  compatibilityPartitioner,
} from '@platformatic/kafka';
import type { Bus, ConsumeOptions, Consumer } from '../../ports/bus.ts';
import type { Health } from '../../ports/health.ts';
import type { Logger } from '../../log.ts';
import { isKafkaError } from './protocol.ts';
import { LakeError, messageOf } from '../../errors.ts';
import { KafkaMember, type MemberSettings } from './member.ts';

export interface KafkaBusOptions {
  brokers: string[];
  clientId?: string;
  /** Partitions of a topic this bus creates when it is missing. */
  partitions?: number;
  /** Replication factor of created topics; -1 takes the broker's default. */
  replicationFactor?: number;
  /** How long the group waits for a silent member before giving its partitions to others, ms (default 30000). */
  sessionTimeoutMs?: number;
  /** The `instanceId` of consumers that give none (static membership); unique per process in each group. */
  instanceId?: string;
  /**
   * Fetch and delivery sizes. Defaults: 250 ms broker wait, 32 MiB per fetch, 4 MiB per partition
   * per fetch, a partition is fetched again while it holds under 4 MiB not yet delivered, batches of
   * at most 100 000 messages. A member so holds at most about 8 MiB per partition besides the batch in flight.
   */
  fetch?: Partial<Pick<MemberSettings, 'maxWaitMs' | 'maxBytes' | 'partitionMaxBytes' | 'maxBufferedBytes' | 'maxBatchMessages'>>;
  /**
   * Highest versions of the two requests the bus builds itself (the library negotiates the rest):
   * by default the broker's highest up to Fetch 17 and OffsetCommit 9. Redpanda 24 stops at Fetch
   * 11 and OffsetCommit 8, which the tests also run against Kafka.
   */
  versions?: Pick<MemberSettings, 'maxFetchVersion' | 'maxOffsetCommitVersion'>;
  log: Logger;
}

/**
 * Most bytes of keys and values in one produce request. A request carries one record batch per
 * partition, and a broker refuses a batch over its `message.max.bytes` (1 MiB by default) every
 * time it is retried: half of that for the whole request keeps every batch under it.
 */
const MAX_SEND_BYTES = 512 * 1024;

/** `messages` cut, in order, into runs of at most `maxBytes` of keys and values (a larger message alone). */
export function sendChunks<T extends { key: string; value: string | Uint8Array }>(messages: readonly T[], maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size =
      Buffer.byteLength(message.key) + (typeof message.value === 'string' ? Buffer.byteLength(message.value) : message.value.byteLength);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/**
 * The bus on Kafka or Redpanda, through @platformatic/kafka (chosen by measurement, see the README's
 * "Kafka client"). The producer is idempotent (acks = all) and places keys as the Java client does
 * (murmur2), so a key stays on the partition other clients put it on; topics are created when
 * missing; offsets move only through `Consumer.commit`. Each consumer is a member of the classic
 * group protocol, static (group.instance.id) when it has an instanceId: a member restarted after a
 * crash takes its partitions back without waiting for the session timeout. The library keeps the
 * membership; `KafkaMember` fetches, decodes and delivers (member.ts, fetcher.ts, records.ts).
 */
export class KafkaBus implements Bus {
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  private readonly admin: Admin;
  /** Lists offsets; never joins a group. */
  private readonly offsets: PlatformaticConsumer;
  private readonly knownTopics = new Map<string, Promise<void>>();
  private readonly members = new Set<KafkaMember>();
  private readonly memberIds = new Set<string>();
  private readonly settings: MemberSettings;

  constructor(private readonly options: KafkaBusOptions) {
    const clientId = options.clientId ?? 'cryptolake';
    const base = { clientId, bootstrapBrokers: options.brokers, retries: 5, retryDelay: 500 };
    this.producer = new Producer({ ...base, idempotent: true, acks: ProduceAcks.ALL, partitioner: compatibilityPartitioner });
    this.admin = new Admin(base);
    this.offsets = new PlatformaticConsumer({ ...base, groupId: `${clientId}-offsets` });
    const sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000;
    this.settings = {
      clientId,
      brokers: options.brokers,
      sessionTimeoutMs,
      heartbeatIntervalMs: Math.min(3_000, Math.floor(sessionTimeoutMs / 10)),
      rebalanceTimeoutMs: 60_000,
      maxWaitMs: 250,
      maxBytes: 32 * 1024 * 1024,
      partitionMaxBytes: 4 * 1024 * 1024,
      maxBufferedBytes: 4 * 1024 * 1024,
      maxBatchMessages: 100_000,
      retryDelayMs: 200,
      ...options.fetch,
      ...options.versions,
    };
  }

  async publish(topic: string, messages: { key: string; value: string | Uint8Array }[]): Promise<void> {
    if (messages.length === 0) return;
    await this.ensureTopic(topic);
    try {
      // One send per chunk, in order: a key's messages keep their order across the chunks.
      for (const chunk of sendChunks(messages, MAX_SEND_BYTES)) {
        await this.producer.send({
          messages: chunk.map(({ key, value }) => ({
            topic,
            key: Buffer.from(key),
            value: typeof value === 'string' ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
          })),
        });
      }
    } catch (cause) {
      throw new LakeError('BUS_UNAVAILABLE', `publishing ${messages.length} messages to ${topic}: ${messageOf(cause)}`, { cause });
    }
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    const instanceId = options.instanceId ?? this.options.instanceId;
    // The process-wide default names one member per group: a second one would fence the first.
    const memberKey = options.instanceId === undefined && instanceId !== undefined ? `${options.group}\u0000${instanceId}` : undefined;
    if (memberKey !== undefined && this.memberIds.has(memberKey)) {
      throw new LakeError(
        'CONFIG_INVALID',
        `this process already is a member of ${options.group} as ${instanceId} (KAFKA_INSTANCE_ID): give the second consumer an instanceId of its own`,
      );
    }
    await Promise.all(options.topics.map((topic) => this.ensureTopic(topic)));
    const member = new KafkaMember({ ...options, instanceId }, this.settings, this.options.log, () => {
      this.members.delete(member);
      if (memberKey !== undefined) this.memberIds.delete(memberKey);
    });
    this.members.add(member);
    if (memberKey !== undefined) this.memberIds.add(memberKey);
    try {
      await member.start();
    } catch (cause) {
      await member.close().catch(() => undefined);
      throw new LakeError('BUS_UNAVAILABLE', `joining group ${options.group} on ${options.topics.join(',')}: ${messageOf(cause)}`, {
        cause,
      });
    }
    return member;
  }

  async endOffsets(topic: string): Promise<Map<number, number>> {
    await this.ensureTopic(topic);
    try {
      const offsets = await this.offsets.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.LATEST });
      return new Map((offsets.get(topic) ?? []).map((offset, partition) => [partition, Number(offset)]));
    } catch (cause) {
      throw new LakeError('BUS_UNAVAILABLE', `reading the end offsets of ${topic}: ${messageOf(cause)}`, { cause });
    }
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    try {
      const [answer] = await this.admin.listConsumerGroupOffsets({ groups: [group] });
      const committed = new Map<number, number>();
      for (const partition of answer?.topics.find((entry) => entry.name === topic)?.partitions ?? []) {
        if (partition.committedOffset >= 0n) committed.set(partition.partitionIndex, Number(partition.committedOffset));
      }
      return committed;
    } catch (cause) {
      throw new LakeError('BUS_UNAVAILABLE', `reading the offsets group ${group} committed on ${topic}: ${messageOf(cause)}`, { cause });
    }
  }

  async health(): Promise<Health> {
    try {
      const metadata = await this.admin.metadata({ topics: [], forceUpdate: true });
      return { ok: true, detail: `kafka ${metadata.brokers.size} broker(s)` };
    } catch (error) {
      return { ok: false, detail: `kafka unreachable at ${this.options.brokers.join(',')}: ${messageOf(error)}` };
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.members].map((member) => member.close()));
    await Promise.allSettled([this.producer.close(), this.admin.close(), this.offsets.close()]);
  }

  /** Creates the topic when it does not exist yet (idempotent, safe between several processes), and waits for its leaders. */
  private ensureTopic(topic: string): Promise<void> {
    let known = this.knownTopics.get(topic);
    if (!known) {
      known = this.createTopic(topic);
      this.knownTopics.set(topic, known);
      known.catch(() => this.knownTopics.delete(topic));
    }
    return known;
  }

  private async createTopic(topic: string): Promise<void> {
    try {
      const existing = await this.admin.listTopics();
      if (!existing.includes(topic)) {
        await this.admin
          .createTopics({ topics: [topic], partitions: this.options.partitions ?? 3, replicas: this.options.replicationFactor ?? -1 })
          .catch((error: unknown) => {
            if (!isKafkaError(error, 'TOPIC_ALREADY_EXISTS')) throw error;
          });
      }
      for (let attempt = 0; ; attempt++) {
        const metadata = await this.admin.metadata({ topics: [topic], forceUpdate: true });
        const partitions = metadata.topics.get(topic)?.partitions ?? [];
        if (partitions.length > 0 && partitions.every((partition) => partition.leader >= 0)) return;
        if (attempt >= 50) throw new Error(`no leader for every partition after ${attempt} looks`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } catch (cause) {
      throw new LakeError('BUS_UNAVAILABLE', `creating topic ${topic} on ${this.options.brokers.join(',')}: ${messageOf(cause)}`, {
        cause,
      });
    }
  }
}

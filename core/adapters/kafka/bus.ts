import { Kafka, Partitioners, logLevel, type Admin, type Producer, type LogEntry } from 'kafkajs';
import type { Bus, ConsumeOptions, Consumer } from '../../ports/bus.ts';
import type { Health } from '../../ports/health.ts';
import type { Logger } from '../../log.ts';
import { LakeError, messageOf } from '../../errors.ts';
import { KafkajsMember } from './member.ts';

export interface KafkaBusOptions {
  brokers: string[];
  clientId?: string;
  /** Partitions of a topic this bus creates when it is missing. */
  partitions?: number;
  /** Replication factor of created topics; -1 takes the broker's default. */
  replicationFactor?: number;
  /**
   * How long the group waits for a silent consumer before giving its partitions to others, ms
   * (default 30000). A killed consumer's partitions stay idle that long.
   */
  sessionTimeoutMs?: number;
  log: Logger;
}

/**
 * The bus on Kafka or Redpanda (kafkajs). The producer is idempotent and waits for every in-sync
 * replica; topics are created when missing; consumers never auto-commit: offsets move only
 * through `Consumer.commit`, after the caller stored what it read. kafkajs has no static
 * membership: `instanceId` is refused.
 */
export class KafkaBus implements Bus {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly ready: Promise<void>;
  private readonly knownTopics = new Set<string>();
  private readonly members = new Set<KafkajsMember>();
  private readonly sessionTimeoutMs: number;

  constructor(private readonly options: KafkaBusOptions) {
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000;
    const log = options.log.child({ component: 'kafkajs' });
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'cryptolake',
      brokers: options.brokers,
      logLevel: logLevel.WARN,
      logCreator: () => (entry: LogEntry) => {
        const { message, ...fields } = entry.log;
        if (entry.level <= logLevel.ERROR) log.error(fields, message);
        else log.warn(fields, message);
      },
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
    });
    // The default partitioner is murmur2 on the key, as Java clients and Redpanda tools use.
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.admin = this.kafka.admin();
    this.ready = Promise.all([this.producer.connect(), this.admin.connect()]).then(() => undefined);
    // A failed first connection is reported by the first call that awaits `ready`.
    this.ready.catch(() => undefined);
  }

  async publish(topic: string, messages: { key: string; value: string | Uint8Array }[]): Promise<void> {
    if (messages.length === 0) return;
    await this.ensureTopic(topic);
    try {
      await this.producer.send({
        topic,
        acks: -1,
        messages: messages.map(({ key, value }) => ({
          key,
          value: typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        })),
      });
    } catch (cause) {
      throw new LakeError('BUS_UNAVAILABLE', `publishing ${messages.length} messages to ${topic}: ${messageOf(cause)}`, { cause });
    }
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    if (options.instanceId !== undefined) {
      throw new LakeError('CONFIG_INVALID', `kafkajs has no static membership: cannot join ${options.group} as ${options.instanceId}`);
    }
    for (const topic of options.topics) await this.ensureTopic(topic);
    const consumer = this.kafka.consumer({
      groupId: options.group,
      allowAutoTopicCreation: false,
      sessionTimeout: this.sessionTimeoutMs,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.max(500, Math.floor(this.sessionTimeoutMs / 10)),
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      // Also how long kafkajs sleeps when every partition is paused (the processor pauses while it
      // writes to free memory): its 5 s default left the processor idle most of a backlog.
      maxWaitTimeInMs: 250,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    const member = new KafkajsMember(consumer, options, this.admin, this.options.log, () => this.members.delete(member));
    this.members.add(member);
    try {
      await member.start();
    } catch (cause) {
      this.members.delete(member);
      await member.close().catch(() => undefined);
      throw new LakeError('BUS_UNAVAILABLE', `joining group ${options.group} on ${options.topics.join(',')}: ${messageOf(cause)}`, {
        cause,
      });
    }
    return member;
  }

  async endOffsets(topic: string): Promise<Map<number, number>> {
    await this.ensureTopic(topic);
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((entry) => [entry.partition, Number(entry.high)]));
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    await this.ready;
    const [entry] = await this.admin.fetchOffsets({ groupId: group, topics: [topic] });
    const committed = new Map<number, number>();
    for (const partition of entry?.partitions ?? []) {
      const offset = Number(partition.offset);
      if (offset >= 0) committed.set(partition.partition, offset);
    }
    return committed;
  }

  async health(): Promise<Health> {
    try {
      await this.ready;
      const cluster = await this.admin.describeCluster();
      return { ok: true, detail: `kafka ${cluster.brokers.length} broker(s), controller ${cluster.controller}` };
    } catch (error) {
      return { ok: false, detail: `kafka unreachable at ${this.options.brokers.join(',')}: ${messageOf(error)}` };
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.members].map((member) => member.close()));
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }

  /** Creates the topic when it does not exist yet (idempotent, safe between several processes). */
  private async ensureTopic(topic: string): Promise<void> {
    if (this.knownTopics.has(topic)) return;
    try {
      await this.ready;
      const existing = await this.admin.listTopics();
      if (!existing.includes(topic)) {
        await this.admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic, numPartitions: this.options.partitions ?? 3, replicationFactor: this.options.replicationFactor ?? -1 }],
        });
      }
      this.knownTopics.add(topic);
    } catch (cause) {
      if ((cause as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') {
        this.knownTopics.add(topic);
        return;
      }
      throw new LakeError('BUS_UNAVAILABLE', `creating topic ${topic} on ${this.options.brokers.join(',')}: ${messageOf(cause)}`, {
        cause,
      });
    }
  }
}

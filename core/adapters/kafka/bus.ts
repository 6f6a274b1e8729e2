import { Kafka, Partitioners, logLevel, type Admin, type Consumer, type Producer, type LogEntry } from 'kafkajs';
import type { Bus, BusMessage, SubscribeOptions, Subscription } from '../../ports/bus.ts';
import type { Health } from '../../ports/health.ts';
import type { Logger } from '../../log.ts';
import { LakeError, messageOf } from '../../errors.ts';

export interface KafkaBusOptions {
  brokers: string[];
  clientId?: string;
  /** Partitions of a topic this bus creates when it is missing. */
  partitions?: number;
  /** Replication factor of created topics; -1 takes the broker's default. */
  replicationFactor?: number;
  /**
   * How long the group waits for a silent consumer before giving its partitions to others, ms
   * (default: KAFKA_SESSION_TIMEOUT_MS, else 30000). A killed processor's partitions stay idle that long.
   */
  sessionTimeoutMs?: number;
  log: Logger;
}

/**
 * The bus on Kafka or Redpanda (kafkajs). The producer is idempotent and waits for every in-sync
 * replica; topics are created when missing; consumers never auto-commit: offsets move only
 * through `Subscription.commit`, after the caller stored what it read.
 */
export class KafkaBus implements Bus {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly ready: Promise<void>;
  private readonly knownTopics = new Set<string>();
  private readonly consumers = new Set<KafkaSubscription>();

  private readonly sessionTimeoutMs: number;

  constructor(private readonly options: KafkaBusOptions) {
    // TODO(lead): move KAFKA_SESSION_TIMEOUT_MS into the adapter config schema (core/adapters/select.ts).
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

  async publish(topic: string, messages: { key: string; value: string }[]): Promise<void> {
    if (messages.length === 0) return;
    await this.ensureTopic(topic);
    try {
      await this.producer.send({ topic, acks: -1, messages });
    } catch (cause) {
      throw new LakeError('BUS_UNAVAILABLE', `publishing ${messages.length} messages to ${topic}: ${messageOf(cause)}`, { cause });
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    await this.ensureTopic(options.topic);
    if (options.from === 'latest') await this.startGroupAtEnd(options.group, options.topic);
    const consumer = this.kafka.consumer({
      groupId: kafkaGroupId(options.group, options.topic),
      allowAutoTopicCreation: false,
      sessionTimeout: this.sessionTimeoutMs,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.max(500, Math.floor(this.sessionTimeoutMs / 10)),
      maxBytesPerPartition: 4 * 1024 * 1024,
      // Also how long kafkajs sleeps when every partition is paused (the processor pauses while it
      // writes to free memory): its 5 s default left the processor idle most of a backlog.
      maxWaitTimeInMs: 250,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    const subscription = new KafkaSubscription(consumer, options, () => this.consumers.delete(subscription));
    this.consumers.add(subscription);
    await subscription.start();
    return subscription;
  }

  async endOffsets(topic: string): Promise<Map<number, number>> {
    await this.ensureTopic(topic);
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((entry) => [entry.partition, Number(entry.high)]));
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    await this.ready;
    const [entry] = await this.admin.fetchOffsets({ groupId: kafkaGroupId(group, topic), topics: [topic] });
    const committed = new Map<number, number>();
    for (const partition of entry?.partitions ?? []) {
      const offset = Number(partition.offset);
      if (offset >= 0) committed.set(partition.partition, offset);
    }
    return committed;
  }

  /**
   * A new group asked to start at the latest message gets the current end offsets committed
   * before it joins, so that everything published after `subscribe` resolves is delivered.
   */
  private async startGroupAtEnd(group: string, topic: string): Promise<void> {
    const committed = await this.committedOffsets(group, topic);
    if (committed.size > 0) return;
    const ends = await this.endOffsets(topic);
    await this.admin.setOffsets({
      groupId: kafkaGroupId(group, topic),
      topic,
      partitions: [...ends].map(([partition, offset]) => ({ partition, offset: String(offset) })),
    });
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
    await Promise.allSettled([...this.consumers].map((consumer) => consumer.close()));
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

/**
 * The Kafka consumer group of a (group, topic) pair. The port scopes a group to one topic, as the
 * in-memory bus does; kafkajs' assigners expect every member of a group to subscribe to the same
 * topics, so a process consuming two topics under one name needs one Kafka group per topic.
 */
export function kafkaGroupId(group: string, topic: string): string {
  return `${group}.${topic}`;
}

/** One kafkajs consumer in a group, delivering batches per partition as the port promises. */
class KafkaSubscription implements Subscription {
  private owned: number[] = [];
  private closed = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly options: SubscribeOptions,
    private readonly onClosed: () => void,
  ) {}

  /** Resolves once the group gave this consumer its first assignment, as `subscribe` promises. */
  async start(joinTimeoutMs = 60_000): Promise<void> {
    const { topic } = this.options;
    let joined!: () => void;
    const firstJoin = new Promise<void>((resolve) => (joined = resolve));
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      joined();
      const next = (event.payload.memberAssignment[topic] ?? []).slice().sort((a, b) => a - b);
      const revoked = this.owned.filter((partition) => !next.includes(partition));
      this.owned = next;
      if (revoked.length > 0) void Promise.resolve(this.options.onRevoked?.(revoked)).catch(() => undefined);
    });
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topic, fromBeginning: this.options.from !== 'latest' });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 64,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (batch.topic !== topic || batch.messages.length === 0 || !isRunning() || isStale()) return;
          const messages: BusMessage[] = batch.messages.map((message) => ({
            key: message.key?.toString() ?? '',
            value: message.value?.toString() ?? '',
            partition: batch.partition,
            offset: Number(message.offset),
            timestamp: Number(message.timestamp),
          }));
          await this.options.onBatch({ topic, partition: batch.partition, messages });
          resolveOffset(batch.messages.at(-1)!.offset);
          await heartbeat();
        },
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        firstJoin,
        new Promise(
          (_, reject) => (timer = setTimeout(() => reject(new Error(`no assignment within ${joinTimeoutMs} ms`)), joinTimeoutMs)),
        ),
      ]).finally(() => clearTimeout(timer));
    } catch (cause) {
      throw new LakeError('BUS_UNAVAILABLE', `joining group ${this.options.group} on ${topic}: ${messageOf(cause)}`, { cause });
    }
  }

  async commit(partition: number, nextOffset: number): Promise<void> {
    // The broker checks only the group generation, not who owns the partition: a consumer that
    // rejoined without it would otherwise still move its offset.
    if (!this.owned.includes(partition))
      throw new LakeError('BUS_CLOSED', `cannot commit ${this.options.topic}/${partition}: not assigned to this consumer`);
    try {
      await this.consumer.commitOffsets([{ topic: this.options.topic, partition, offset: String(nextOffset) }]);
    } catch (cause) {
      throw new LakeError('BUS_UNAVAILABLE', `committing offset ${nextOffset} of ${this.options.topic}/${partition}: ${messageOf(cause)}`, {
        cause,
      });
    }
  }

  pause(): void {
    this.consumer.pause([{ topic: this.options.topic }]);
  }

  resume(): void {
    this.consumer.resume([{ topic: this.options.topic }]);
  }

  assignment(): number[] {
    return [...this.owned];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // stop() waits for the batches in flight; only then are the partitions handed back.
    await this.consumer.stop().catch(() => undefined);
    const revoked = this.owned;
    this.owned = [];
    if (revoked.length > 0) await this.options.onRevoked?.(revoked);
    await this.consumer.disconnect().catch(() => undefined);
    this.onClosed();
  }
}

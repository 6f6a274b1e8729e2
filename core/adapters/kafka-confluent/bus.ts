import Kafka from '@confluentinc/kafka-javascript';
import type { IAdminClient, KafkaConsumer, LibrdKafkaError, Producer } from '@confluentinc/kafka-javascript';
import type { Bus, ConsumeOptions, Consumer } from '../../ports/bus.ts';
import type { Health } from '../../ports/health.ts';
import type { Logger } from '../../log.ts';
import { LakeError, messageOf } from '../../errors.ts';
import { ConfluentMember, type ConfluentMemberSettings } from './member.ts';

export interface ConfluentKafkaBusOptions {
  brokers: string[];
  clientId?: string;
  /** Partitions of a topic this bus creates when it is missing. */
  partitions?: number;
  /** Replication factor of created topics; -1 takes the broker's default. */
  replicationFactor?: number;
  /** How long the group waits for a silent member before giving its partitions to others, ms (default 30000). */
  sessionTimeoutMs?: number;
  log: Logger;
}

const { ERR_TOPIC_ALREADY_EXISTS, ERR__QUEUE_FULL } = Kafka.CODES.ERRORS;

function call<T>(run: (callback: (error: LibrdKafkaError | null | undefined, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, result) => (error ? reject(error) : resolve(result))));
}

/**
 * The bus on Kafka through @confluentinc/kafka-javascript (librdkafka, its node-rdkafka API). The
 * producer is idempotent (acks = all) with the murmur2 partitioner of the Java client; topics are
 * created when missing; offsets move only through `Consumer.commit`.
 */
export class ConfluentKafkaBus implements Bus {
  private readonly producer: Producer;
  private readonly admin: IAdminClient;
  /** Reads watermarks; never joins a group. */
  private readonly offsets: KafkaConsumer;
  private readonly ready: Promise<void>;
  private readonly knownTopics = new Map<string, Promise<void>>();
  private readonly members = new Set<ConfluentMember>();
  private readonly settings: ConfluentMemberSettings;

  constructor(private readonly options: ConfluentKafkaBusOptions) {
    const servers = options.brokers.join(',');
    const clientId = options.clientId ?? 'cryptolake';
    this.producer = new Kafka.Producer({
      'bootstrap.servers': servers,
      'client.id': clientId,
      'enable.idempotence': true,
      acks: -1,
      partitioner: 'murmur2_random',
      dr_cb: true,
      'linger.ms': 5,
      'batch.num.messages': 10_000,
      'queue.buffering.max.messages': 1_000_000,
    });
    this.producer.on('delivery-report', (error, report) => {
      (report.opaque as (error: LibrdKafkaError | null) => void)(error);
    });
    this.admin = Kafka.AdminClient.create({ 'bootstrap.servers': servers, 'client.id': clientId });
    this.offsets = new Kafka.KafkaConsumer({ 'bootstrap.servers': servers, 'client.id': clientId, 'group.id': `${clientId}-offsets` }, {});
    this.ready = Promise.all([call((done) => this.producer.connect({}, done)), call((done) => this.offsets.connect({}, done))]).then(() => {
      this.producer.setPollInterval(5);
    });
    this.ready.catch(() => undefined);
    this.settings = {
      brokers: options.brokers,
      clientId,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      maxBatchMessages: 100_000,
      maxBufferedBytes: 16 * 1024 * 1024,
      retryDelayMs: 200,
      librdkafka: {
        'fetch.wait.max.ms': 250,
        'fetch.max.bytes': 32 * 1024 * 1024,
        'max.partition.fetch.bytes': 8 * 1024 * 1024,
        'queued.max.messages.kbytes': 65_536,
      },
    };
  }

  async publish(topic: string, messages: { key: string; value: string | Uint8Array }[]): Promise<void> {
    if (messages.length === 0) return;
    await this.ensureTopic(topic);
    try {
      await Promise.all(messages.map(({ key, value }) => this.produce(topic, key, value)));
    } catch (cause) {
      throw new LakeError('BUS_UNAVAILABLE', `publishing ${messages.length} messages to ${topic}: ${messageOf(cause)}`, { cause });
    }
  }

  /** One message, resolved on its delivery report; waits while librdkafka's queue is full. */
  private async produce(topic: string, key: string, value: string | Uint8Array): Promise<void> {
    const bytes = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    for (;;) {
      try {
        return await new Promise<void>((resolve, reject) => {
          this.producer.produce(topic, null, bytes, key, Date.now(), (error: LibrdKafkaError | null) =>
            error ? reject(error) : resolve(),
          );
        });
      } catch (error) {
        if ((error as LibrdKafkaError).code !== ERR__QUEUE_FULL) throw error;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    await Promise.all(options.topics.map((topic) => this.ensureTopic(topic)));
    const member = new ConfluentMember(options, this.settings, this.options.log, () => this.members.delete(member));
    this.members.add(member);
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
      const metadata = await call<{ topics: { name: string; partitions: { id: number }[] }[] }>((done) =>
        this.offsets.getMetadata({ topic, timeout: 10_000 }, done),
      );
      const partitions = metadata.topics.find((entry) => entry.name === topic)?.partitions ?? [];
      const ends = new Map<number, number>();
      for (const { id } of partitions) {
        const { highOffset } = await call<{ highOffset: number }>((done) => this.offsets.queryWatermarkOffsets(topic, id, 10_000, done));
        ends.set(id, highOffset);
      }
      return ends;
    } catch (cause) {
      throw new LakeError('BUS_UNAVAILABLE', `reading the end offsets of ${topic}: ${messageOf(cause)}`, { cause });
    }
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    try {
      const [answer] = await call<{ partitions: { topic: string; partition: number; offset: number }[] }[]>((done) =>
        this.admin.listConsumerGroupOffsets([{ groupId: group }], { timeout: 10_000 }, done),
      );
      const committed = new Map<number, number>();
      for (const entry of answer?.partitions ?? [])
        if (entry.topic === topic && entry.offset >= 0) committed.set(entry.partition, entry.offset);
      return committed;
    } catch (cause) {
      throw new LakeError('BUS_UNAVAILABLE', `reading the offsets group ${group} committed on ${topic}: ${messageOf(cause)}`, { cause });
    }
  }

  async health(): Promise<Health> {
    try {
      await this.ready;
      const metadata = await call<{ brokers: unknown[] }>((done) => this.offsets.getMetadata({ timeout: 5_000 }, done));
      return { ok: true, detail: `kafka ${metadata.brokers.length} broker(s)` };
    } catch (error) {
      return { ok: false, detail: `kafka unreachable at ${this.options.brokers.join(',')}: ${messageOf(error)}` };
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.members].map((member) => member.close()));
    await new Promise((resolve) => this.producer.flush(10_000, resolve));
    await Promise.allSettled([
      new Promise((resolve) => this.producer.disconnect(resolve)),
      new Promise((resolve) => this.offsets.disconnect(resolve)),
    ]);
    this.admin.disconnect();
  }

  private ensureTopic(topic: string): Promise<void> {
    let known = this.knownTopics.get(topic);
    if (!known) {
      known = this.createTopic(topic);
      this.knownTopics.set(topic, known);
      known.catch(() => this.knownTopics.delete(topic));
    }
    return known;
  }

  /** Creates the topic when it does not exist yet (idempotent, safe between several processes). */
  private async createTopic(topic: string): Promise<void> {
    try {
      await this.ready;
      const existing = await call<string[]>((done) => this.admin.listTopics({ timeout: 10_000 }, done));
      if (existing.includes(topic)) return;
      await call<void>((done) =>
        this.admin.createTopic(
          { topic, num_partitions: this.options.partitions ?? 3, replication_factor: this.options.replicationFactor ?? -1 },
          10_000,
          (error) => done(error && error.code !== ERR_TOPIC_ALREADY_EXISTS ? error : null, undefined),
        ),
      );
      // A new topic answers offset requests only once every partition has its leader.
      for (let attempt = 0; ; attempt++) {
        const ends = await Promise.allSettled(
          Array.from({ length: this.options.partitions ?? 3 }, (_, partition) =>
            call((done) => this.offsets.queryWatermarkOffsets(topic, partition, 5_000, done)),
          ),
        );
        if (ends.every((end) => end.status === 'fulfilled')) return;
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

import Kafka from '@confluentinc/kafka-javascript';
import type { KafkaConsumer, LibrdKafkaError, Message, TopicPartition as RdTopicPartition } from '@confluentinc/kafka-javascript';
import type { BusMessage, ConsumeOptions, Consumer, TopicPartition } from '../../ports/bus.ts';
import type { Logger } from '../../log.ts';
import { LakeError, messageOf } from '../../errors.ts';
import { Deliveries, keyOf, type DeliverySettings, type Slot } from '../kafka-platformatic/deliveries.ts';

/** How a member talks to its group and fetches. */
export interface ConfluentMemberSettings extends DeliverySettings {
  brokers: string[];
  clientId: string;
  sessionTimeoutMs: number;
  /** librdkafka settings of the consumer (fetch sizes and waits). */
  librdkafka: Record<string, string | number | boolean>;
}

const { ERR__ASSIGN_PARTITIONS, ERR__REVOKE_PARTITIONS, ERR__FATAL } = Kafka.CODES.ERRORS;
const CONSUME_CHUNK = 10_000;
const EMPTY = new Uint8Array(0);
const byTopicThenPartition = (a: TopicPartition, b: TopicPartition) => a.topic.localeCompare(b.topic) || a.partition - b.partition;

function call<T>(run: (callback: (error: LibrdKafkaError | null | undefined, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, result) => (error ? reject(error) : resolve(result))));
}

/**
 * One member of a consumer group on @confluentinc/kafka-javascript (librdkafka). librdkafka waits
 * for the application to call assign and unassign in a rebalance: the member assigns only once
 * onAssigned gave start offsets, and unassigns only once the batches in flight settled and
 * onRevoked ran. Messages come from `consume(n)` calls in a loop and are delivered per partition;
 * a partition holding too much is paused in librdkafka.
 */
export class ConfluentMember implements Consumer {
  private readonly client: KafkaConsumer;
  private readonly deliveries: Deliveries;
  private readonly log: Logger;
  private assigned: TopicPartition[] = [];
  private rebalancing: Promise<void> = Promise.resolve();
  private readonly paused = new Set<string>();
  /** Per partition: messages from consume calls started before this one are stale (a seek or reset since). */
  private readonly acceptFromCall = new Map<string, number>();
  private calls = 0;
  private closed = false;
  private fenced = false;
  private polling: Promise<void> | undefined;
  private firstAssigned: () => void = () => {};
  /** Commits waiting for their outcome, oldest first. */
  private readonly commits: ((error: LibrdKafkaError | null) => void)[] = [];

  constructor(
    private readonly options: ConsumeOptions,
    settings: ConfluentMemberSettings,
    log: Logger,
    private readonly onClosed: () => void,
  ) {
    this.log = log.child({ component: 'kafka-consumer', group: options.group, instanceId: options.instanceId });
    this.client = new Kafka.KafkaConsumer(
      {
        'bootstrap.servers': settings.brokers.join(','),
        'client.id': settings.clientId,
        'group.id': options.group,
        ...(options.instanceId === undefined ? {} : { 'group.instance.id': options.instanceId }),
        'session.timeout.ms': settings.sessionTimeoutMs,
        'heartbeat.interval.ms': Math.min(3_000, Math.floor(settings.sessionTimeoutMs / 10)),
        'partition.assignment.strategy': 'roundrobin',
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        rebalance_cb: (error: LibrdKafkaError, assignment: RdTopicPartition[]) => this.onRebalance(error, assignment),
        offset_commit_cb: (error: LibrdKafkaError | undefined, partitions: { error?: LibrdKafkaError }[] | undefined) =>
          this.commits.shift()?.(error ?? partitions?.find((partition) => partition.error)?.error ?? null),
        ...settings.librdkafka,
      },
      { 'auto.offset.reset': 'earliest' },
    );
    this.deliveries = new Deliveries(
      options.onBatch,
      settings,
      () => this.syncPauses(),
      (slot) => this.reposition(slot),
    );
  }

  /** Joins, and resolves once the first assignment has its start offsets; deliveries begin right after. */
  async start(joinTimeoutMs = 60_000): Promise<void> {
    let assignedOnce!: () => void;
    const firstAssignment = new Promise<void>((resolve) => (assignedOnce = resolve));
    this.firstAssigned = assignedOnce;
    this.client.on('event.error', (error) => this.onError(error));
    await call((done) => this.client.connect({}, done));
    this.client.setDefaultConsumeTimeout(100);
    // Return with what is there once the first message came, instead of waiting for the chunk to fill.
    (this.client as unknown as { setDefaultIsTimeoutOnlyForFirstMessage(only: boolean): void }).setDefaultIsTimeoutOnlyForFirstMessage(
      true,
    );
    this.client.subscribe(this.options.topics);
    this.polling = this.poll();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      firstAssignment,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no assignment within ${joinTimeoutMs} ms`)), joinTimeoutMs))),
    ]).finally(() => clearTimeout(timer));
    setImmediate(() => this.deliveries.start());
  }

  async commit(offsets: (TopicPartition & { nextOffset: number })[]): Promise<void> {
    for (const offset of offsets) this.assertOwned(offset, 'commit');
    try {
      // commitCb answers once the commit is queued; its outcome comes with the next offset_commit_cb,
      // and librdkafka answers commits in the order they were made.
      await new Promise<void>((resolve, reject) => {
        this.commits.push((error) => (error ? reject(error) : resolve()));
        (this.client as unknown as { commitCb(toppars: object[], cb: (error: LibrdKafkaError | null) => void): void }).commitCb(
          offsets.map(({ topic, partition, nextOffset }) => ({ topic, partition, offset: nextOffset })),
          (error) => {
            if (!error) return;
            this.commits.pop();
            reject(error);
          },
        );
      });
    } catch (cause) {
      throw new LakeError('BUS_NOT_OWNER', `committing ${offsets.length} offsets of group ${this.options.group}: ${messageOf(cause)}`, {
        cause,
      });
    }
    for (const { topic, partition, nextOffset } of offsets) {
      const slot = this.deliveries.get({ topic, partition });
      if (slot) this.deliveries.committed(slot, nextOffset);
    }
  }

  seek(partition: TopicPartition, offset: number): void {
    this.assertOwned(partition, 'seek');
    const slot = this.deliveries.get(partition);
    if (!slot)
      throw new LakeError('BUS_NOT_OWNER', `cannot seek ${partition.topic}/${partition.partition}: its start offset is not known yet`);
    this.deliveries.seek(slot, offset);
  }

  setPaused(paused: boolean): void {
    this.deliveries.setPaused(paused);
    this.syncPauses();
  }

  assignment(): TopicPartition[] {
    return [...this.assigned];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await (this.rebalancing = this.rebalancing.then(() => this.revoke()));
    await this.polling;
    await new Promise((resolve) => this.client.disconnect(resolve));
    this.onClosed();
  }

  private assertOwned(tp: TopicPartition, what: string): void {
    if (this.closed || this.fenced || !this.assigned.some((owned) => owned.topic === tp.topic && owned.partition === tp.partition)) {
      throw new LakeError(
        'BUS_NOT_OWNER',
        `cannot ${what} ${tp.topic}/${tp.partition} for group ${this.options.group}: not assigned to this consumer`,
      );
    }
  }

  private onRebalance(error: LibrdKafkaError, assignment: RdTopicPartition[]): void {
    if (error.code === ERR__ASSIGN_PARTITIONS) this.rebalancing = this.rebalancing.then(() => this.assign(assignment));
    else if (error.code === ERR__REVOKE_PARTITIONS) this.rebalancing = this.rebalancing.then(() => this.revoke());
    else this.log.warn({ err: error.message }, 'Rebalance failed');
  }

  private onError(error: LibrdKafkaError): void {
    if (error.code === ERR__FATAL) {
      // A fatal error of a static member is its fencing by a newer member with its instance id.
      this.fenced = true;
      this.log.warn({ err: error.message }, 'The consumer stopped on a fatal error');
      this.rebalancing = this.rebalancing.then(() => this.revoke());
    } else {
      this.log.debug({ err: error.message }, 'librdkafka reported an error');
    }
  }

  /** Assigns the new partitions at the offsets onAssigned gives (asked again after a pause while it fails). */
  private async assign(assignment: RdTopicPartition[]): Promise<void> {
    const partitions = assignment.map(({ topic, partition }) => ({ topic, partition })).sort(byTopicThenPartition);
    if (this.closed || this.fenced) return;
    this.assigned = partitions;
    for (;;) {
      try {
        const starts = await this.startOffsets(partitions);
        this.client.assign(partitions.map((tp) => ({ ...tp, offset: starts.get(keyOf(tp))! })));
        for (const tp of partitions) {
          this.deliveries.add(tp, starts.get(keyOf(tp))!);
          // librdkafka drops what it fetched for an older assignment itself.
          this.acceptFromCall.set(keyOf(tp), 0);
        }
        this.firstAssigned();
        return;
      } catch (error) {
        this.firstAssigned();
        this.log.warn({ err: messageOf(error) }, 'Could not fix the start offsets of the assigned partitions; trying again');
        await new Promise((resolve) => setTimeout(resolve, 200));
        if (this.closed || this.fenced) return;
      }
    }
  }

  /** onAssigned's offsets, else the group's commits, else `from`; kept within what each partition holds. */
  private async startOffsets(partitions: TopicPartition[]): Promise<Map<string, number>> {
    const given = partitions.length > 0 ? ((await this.options.onAssigned?.(partitions)) ?? new Map<string, number>()) : new Map();
    if (partitions.length === 0) return given;
    const committed = await call<{ topic: string; partition: number; offset?: number }[]>((done) =>
      this.client.committed(partitions, 10_000, done),
    );
    const starts = new Map<string, number>();
    for (const tp of partitions) {
      const { lowOffset, highOffset } = await call<{ lowOffset: number; highOffset: number }>((done) =>
        this.client.queryWatermarkOffsets(tp.topic, tp.partition, 10_000, done),
      );
      const stored = committed.find((c) => c.topic === tp.topic && c.partition === tp.partition)?.offset ?? -1;
      const wanted = given.get(keyOf(tp)) ?? (stored >= 0 ? stored : this.options.from === 'latest' ? highOffset : lowOffset);
      starts.set(keyOf(tp), Math.min(Math.max(wanted, lowOffset), highOffset));
    }
    return starts;
  }

  /** Stops every owned partition, waits for its batch in flight, runs onRevoked, then lets librdkafka go on. */
  private async revoke(): Promise<void> {
    const revoked = this.assigned;
    if (revoked.length > 0) {
      await this.deliveries.stop(revoked);
      try {
        await this.options.onRevoked?.(revoked);
      } catch (error) {
        this.log.warn({ err: messageOf(error) }, 'onRevoked failed; the partitions go anyway');
      }
      this.deliveries.remove(revoked);
      this.assigned = [];
    }
    try {
      if (!this.fenced) this.client.unassign();
    } catch (error) {
      this.log.debug({ err: messageOf(error) }, 'Could not unassign');
    }
  }

  /** librdkafka fetches again from the slot's offset; what an earlier consume call returned is stale. */
  private reposition(slot: Slot): void {
    this.acceptFromCall.set(keyOf(slot), Number.POSITIVE_INFINITY);
    this.client.seek({ topic: slot.topic, partition: slot.partition, offset: slot.fetchOffset }, 10_000, (error) => {
      if (error) this.log.warn({ err: error.message, topic: slot.topic, partition: slot.partition }, 'Seek failed');
      this.acceptFromCall.set(keyOf(slot), this.calls + 1);
    });
  }

  /** Pauses in librdkafka the partitions Deliveries does not want fetched now, resumes the others. */
  private syncPauses(): void {
    if (this.closed || this.fenced) return;
    const wanted = new Set(this.deliveries.fetchable().map(keyOf));
    const pause: RdTopicPartition[] = [];
    const resume: RdTopicPartition[] = [];
    for (const tp of this.assigned) {
      const key = keyOf(tp);
      if (!wanted.has(key) && !this.paused.has(key)) {
        pause.push(tp);
        this.paused.add(key);
      } else if (wanted.has(key) && this.paused.has(key)) {
        resume.push(tp);
        this.paused.delete(key);
      }
    }
    try {
      if (pause.length > 0) this.client.pause(pause);
      if (resume.length > 0) this.client.resume(resume);
    } catch (error) {
      this.log.debug({ err: messageOf(error) }, 'Could not pause or resume');
    }
  }

  private async poll(): Promise<void> {
    while (!this.closed && !this.fenced) {
      const callId = ++this.calls;
      let messages: Message[];
      try {
        messages = await call<Message[]>((done) => this.client.consume(CONSUME_CHUNK, done));
      } catch (error) {
        // librdkafka reports its fatal errors (a fenced static member) to consume calls.
        if ((error as LibrdKafkaError).code === ERR__FATAL) {
          this.onError(error as LibrdKafkaError);
          return;
        }
        this.log.debug({ err: messageOf(error) }, 'consume failed');
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const byPartition = new Map<string, BusMessage[]>();
      const stale = new Set<string>();
      for (const message of messages) {
        const key = `${message.topic}:${message.partition}`;
        if (callId < (this.acceptFromCall.get(key) ?? Number.POSITIVE_INFINITY)) {
          stale.add(key);
          continue;
        }
        let list = byPartition.get(key);
        if (!list) byPartition.set(key, (list = []));
        list.push({
          key: message.key?.toString() ?? '',
          value: message.value ?? EMPTY,
          topic: message.topic,
          partition: message.partition,
          offset: message.offset,
          timestamp: message.timestamp ?? 0,
        });
      }
      for (const list of byPartition.values()) {
        const slot = this.deliveries.get(list[0]!);
        if (!slot) continue;
        const bytes = list.reduce((sum, message) => sum + message.value.length, 0);
        this.deliveries.received(slot, slot.epoch, list, list.at(-1)!.offset + 1, bytes);
      }
      // A call that began before a seek finished may hold messages from either side of it: fetch them again.
      for (const key of stale) {
        const slot = this.deliveries.all().find((candidate) => keyOf(candidate) === key);
        if (slot && this.acceptFromCall.get(key) !== Number.POSITIVE_INFINITY) this.reposition(slot);
      }
      this.syncPauses();
      if (messages.length === 0 && this.assigned.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

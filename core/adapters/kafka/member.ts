import type { Admin, Consumer as KafkajsConsumer, EachBatchPayload } from 'kafkajs';
import type { BusMessage, ConsumeOptions, Consumer, TopicPartition } from '../../ports/bus.ts';
import type { Logger } from '../../log.ts';
import { LakeError, messageOf } from '../../errors.ts';

/** Where this member is in one owned partition. */
interface PartitionState extends TopicPartition {
  /** False until onAssigned gave its start offset and kafkajs was told to seek there. */
  ready: boolean;
  /** Where a failed batch restarts: the last commit, else the start. */
  restart: number;
  /** Held back after a failed batch, until the retry pause is over. */
  held: boolean;
  revoking: boolean;
  inFlight?: Promise<void>;
}

const keyOf = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;
const byTopicThenPartition = (a: TopicPartition, b: TopicPartition) => a.topic.localeCompare(b.topic) || a.partition - b.partition;
const RETRY_DELAY_MS = 200;

/**
 * One kafkajs consumer in a group, as the port's `Consumer`. kafkajs rebalances eagerly: on every
 * rejoin all partitions are revoked (when kafkajs announces the rebalance) and assigned again (when
 * it has joined). Partitions are held paused until onAssigned gave their start offsets.
 */
export class KafkajsMember implements Consumer {
  private readonly owned = new Map<string, PartitionState>();
  private paused = false;
  private started = false;
  private closed = false;
  private revoking: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    private readonly consumer: KafkajsConsumer,
    private readonly options: ConsumeOptions,
    private readonly admin: Admin,
    log: Logger,
    private readonly onClosed: () => void,
  ) {
    this.log = log.child({ component: 'kafkajs-consumer', group: options.group });
  }

  /** Joins, and resolves once the first assignment has its start offsets; deliveries begin right after. */
  async start(joinTimeoutMs = 60_000): Promise<void> {
    let joined!: () => void;
    const firstJoin = new Promise<void>((resolve) => (joined = resolve));
    this.consumer.on(this.consumer.events.REBALANCING, () => {
      this.revoking ??= this.revokeAll().finally(() => (this.revoking = undefined));
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      void this.assign(event.payload.memberAssignment, joined);
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics, fromBeginning: this.options.from !== 'latest' });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 64,
      eachBatch: (payload) => this.deliver(payload),
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      firstJoin,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no assignment within ${joinTimeoutMs} ms`)), joinTimeoutMs))),
    ]).finally(() => clearTimeout(timer));
    // Deliveries start once the caller of `consume` holds this consumer.
    setImmediate(() => {
      this.started = true;
      this.applyPauses();
    });
  }

  async commit(offsets: (TopicPartition & { nextOffset: number })[]): Promise<void> {
    const states = offsets.map((offset) => {
      const state = this.owned.get(keyOf(offset));
      if (!state || this.closed) {
        throw new LakeError(
          'BUS_NOT_OWNER',
          `cannot commit ${offset.topic}/${offset.partition} for group ${this.options.group}: not assigned to this consumer`,
        );
      }
      return state;
    });
    try {
      await this.consumer.commitOffsets(
        offsets.map(({ topic, partition, nextOffset }) => ({ topic, partition, offset: String(nextOffset) })),
      );
    } catch (cause) {
      throw new LakeError('BUS_UNAVAILABLE', `committing ${offsets.length} offsets of group ${this.options.group}: ${messageOf(cause)}`, {
        cause,
      });
    }
    offsets.forEach(({ nextOffset }, i) => (states[i]!.restart = nextOffset));
  }

  seek(partition: TopicPartition, offset: number): void {
    if (!this.owned.has(keyOf(partition)) || this.closed) {
      throw new LakeError('BUS_NOT_OWNER', `cannot seek ${partition.topic}/${partition.partition}: not assigned to this consumer`);
    }
    this.consumer.seek({ ...partition, offset: String(offset) });
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.applyPauses();
  }

  assignment(): TopicPartition[] {
    return [...this.owned.values()].map(({ topic, partition }) => ({ topic, partition })).sort(byTopicThenPartition);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.applyPauses();
    await this.revoking;
    await this.revokeAll();
    await this.consumer.disconnect().catch(() => undefined);
    this.onClosed();
  }

  /** A new assignment: the old one is revoked (kafkajs is eager), the new one waits for onAssigned. */
  private async assign(assignment: Record<string, number[]>, joined: () => void): Promise<void> {
    await this.revoking;
    await this.revokeAll();
    if (this.closed) return joined();
    const states: PartitionState[] = Object.entries(assignment).flatMap(([topic, partitions]) =>
      partitions.map((partition) => ({ topic, partition, ready: false, restart: 0, held: false, revoking: false })),
    );
    for (const state of states) this.owned.set(keyOf(state), state);
    this.applyPauses();
    for (let attempt = 1; !this.closed && states.some((state) => !state.revoking); attempt++) {
      try {
        await this.position(states);
        break;
      } catch (error) {
        this.log.warn({ attempt, err: messageOf(error) }, 'Could not fix the start offsets of the assigned partitions; trying again');
        joined();
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      }
    }
    joined();
  }

  /** Start offsets: onAssigned's, else the group's commit, else `from`; kept within what the partition holds. */
  private async position(states: PartitionState[]): Promise<void> {
    if (states.length === 0) return;
    const partitions = states.map(({ topic, partition }) => ({ topic, partition }));
    const given = (await this.options.onAssigned?.(partitions)) ?? new Map<string, number>();
    for (const topic of new Set(states.map((state) => state.topic))) {
      const [ends, [committed]] = await Promise.all([
        this.admin.fetchTopicOffsets(topic),
        this.admin.fetchOffsets({ groupId: this.options.group, topics: [topic] }),
      ]);
      for (const state of states.filter((s) => s.topic === topic && !s.revoking)) {
        const range = ends.find((end) => end.partition === state.partition)!;
        const [low, high] = [Number(range.low), Number(range.high)];
        const stored = Number(committed?.partitions.find((p) => p.partition === state.partition)?.offset ?? -1);
        const wanted = given.get(keyOf(state)) ?? (stored >= 0 ? stored : this.options.from === 'latest' ? high : low);
        state.restart = Math.min(Math.max(wanted, low), high);
        this.consumer.seek({ topic, partition: state.partition, offset: String(state.restart) });
        state.ready = true;
      }
    }
    this.applyPauses();
  }

  private async deliver({ batch, resolveOffset, heartbeat, isStale, isRunning }: EachBatchPayload): Promise<void> {
    const state = this.owned.get(keyOf(batch));
    if (!state || !state.ready || state.revoking || state.held || !this.started || this.closed || this.paused) return;
    if (batch.messages.length === 0 || isStale() || !isRunning()) return;
    const messages: BusMessage[] = batch.messages.map((message) => ({
      key: message.key?.toString() ?? '',
      value: message.value ?? Buffer.alloc(0),
      topic: batch.topic,
      partition: batch.partition,
      offset: Number(message.offset),
      timestamp: Number(message.timestamp),
    }));
    const handled = this.options.onBatch({ topic: batch.topic, partition: batch.partition, messages });
    state.inFlight = handled.then(
      () => undefined,
      () => undefined,
    );
    try {
      await handled;
      if (!isStale()) resolveOffset(batch.messages.at(-1)!.offset);
      await heartbeat();
    } catch {
      // Held for a short pause, then again from where the partition restarts.
      state.held = true;
      this.applyPauses();
      this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: String(state.restart) });
      setTimeout(() => {
        state.held = false;
        this.applyPauses();
      }, RETRY_DELAY_MS).unref();
    } finally {
      state.inFlight = undefined;
    }
  }

  /** Stops every owned partition, waits for its batch in flight, then runs onRevoked. */
  private async revokeAll(): Promise<void> {
    const revoked = [...this.owned.values()];
    if (revoked.length === 0) return;
    for (const state of revoked) state.revoking = true;
    this.applyPauses();
    await Promise.allSettled(revoked.map((state) => state.inFlight));
    try {
      await this.options.onRevoked?.(revoked.map(({ topic, partition }) => ({ topic, partition })).sort(byTopicThenPartition));
    } catch (error) {
      this.log.warn({ err: messageOf(error) }, 'onRevoked failed; the partitions go anyway');
    }
    for (const state of revoked) if (this.owned.get(keyOf(state)) === state) this.owned.delete(keyOf(state));
  }

  /** Tells kafkajs which owned partitions to fetch: none while paused, closed or not yet started. */
  private applyPauses(): void {
    const pause = new Map<string, number[]>();
    const resume = new Map<string, number[]>();
    for (const state of this.owned.values()) {
      const hold = this.paused || this.closed || !this.started || !state.ready || state.held || state.revoking;
      const into = hold ? pause : resume;
      into.set(state.topic, [...(into.get(state.topic) ?? []), state.partition]);
    }
    try {
      if (pause.size > 0) this.consumer.pause([...pause].map(([topic, partitions]) => ({ topic, partitions })));
      if (resume.size > 0) this.consumer.resume([...resume].map(([topic, partitions]) => ({ topic, partitions })));
    } catch (error) {
      // kafkajs refuses to pause before it runs; the states are applied again when it does.
      this.log.debug({ err: messageOf(error) }, 'Could not apply pauses yet');
    }
  }
}

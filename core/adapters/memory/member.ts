import type { BusMessage, ConsumeOptions, Consumer, MessageBatch, TopicPartition } from '../../ports/bus.ts';
import type { Logger } from '../../log.ts';
import { LakeError, messageOf } from '../../errors.ts';

/** What a member needs from its bus and group: the logs, the committed offsets, how to leave. */
export interface MemberContext {
  log(topic: string): BusMessage[][];
  committed(topic: string): Map<number, number>;
  leave(member: Member): Promise<void>;
  maxBatchMessages: number;
  retryDelayMs: number;
  logger: Logger;
}

/** Where a member is in one of its partitions. */
interface PartitionState extends TopicPartition {
  /** Offset of the next message to deliver. */
  position: number;
  /** Where a failed batch restarts: the last commit, else the start. */
  restart: number;
  /** False until onAssigned gave its start offset. */
  ready: boolean;
  /** Being taken away: nothing more is delivered. */
  revoking: boolean;
  /** Moves on each seek or failure, so a batch in flight does not move the position afterwards. */
  epoch: number;
  inFlight?: Promise<void>;
  /** After a failed batch: not before this time (epoch ms). */
  retryAt?: number;
  retryScheduled?: boolean;
}

const keyOf = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;
const byTopicThenPartition = (a: TopicPartition, b: TopicPartition) => a.topic.localeCompare(b.topic) || a.partition - b.partition;

/** One member of an in-memory group: delivers each of its partitions one batch at a time. */
export class Member implements Consumer {
  private readonly owned = new Map<string, PartitionState>();
  private paused = false;
  /** False until `consume` resolved: nothing is delivered before. */
  private started = false;
  /** Left the group, or fenced by a newer member with its instance id. */
  private gone = false;

  constructor(
    private readonly context: MemberContext,
    readonly options: ConsumeOptions,
  ) {}

  get instanceId(): string | undefined {
    return this.options.instanceId;
  }

  reads(topic: string): boolean {
    return this.options.topics.includes(topic);
  }

  async commit(offsets: (TopicPartition & { nextOffset: number })[]): Promise<void> {
    const states = offsets.map((offset) => {
      const state = this.owned.get(keyOf(offset));
      if (!state || this.gone) {
        throw new LakeError(
          'BUS_NOT_OWNER',
          `cannot commit ${offset.topic}/${offset.partition} for group ${this.options.group}: not assigned to this consumer`,
        );
      }
      return state;
    });
    offsets.forEach(({ topic, partition, nextOffset }, i) => {
      this.context.committed(topic).set(partition, nextOffset);
      states[i]!.restart = nextOffset;
    });
  }

  seek(partition: TopicPartition, offset: number): void {
    const state = this.owned.get(keyOf(partition));
    if (!state || this.gone) {
      throw new LakeError('BUS_NOT_OWNER', `cannot seek ${partition.topic}/${partition.partition}: not assigned to this consumer`);
    }
    state.position = offset;
    state.epoch += 1;
    this.pump();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.pump();
  }

  assignment(): TopicPartition[] {
    return [...this.owned.values()].map(({ topic, partition }) => ({ topic, partition })).sort(byTopicThenPartition);
  }

  async close(): Promise<void> {
    if (this.gone) return;
    await this.context.leave(this);
  }

  /** Lets deliveries begin once the caller of `consume` has the consumer (its continuation ran). */
  begin(): void {
    setImmediate(() => {
      this.started = true;
      this.pump();
    });
  }

  /** Marks the member as out of the group, then revokes everything it owns. */
  async retire(): Promise<void> {
    this.gone = true;
    await this.revokeAllBut([]);
  }

  /**
   * Takes away every owned partition not in `keep`: stops its deliveries, waits for the batch in
   * flight, then runs onRevoked while commits of it are still accepted.
   */
  async revokeAllBut(keep: TopicPartition[]): Promise<void> {
    const kept = new Set(keep.map(keyOf));
    const revoked = [...this.owned.values()].filter((state) => !kept.has(keyOf(state)));
    if (revoked.length === 0) return;
    for (const state of revoked) state.revoking = true;
    await Promise.allSettled(revoked.map((state) => state.inFlight));
    try {
      await this.options.onRevoked?.(revoked.map(({ topic, partition }) => ({ topic, partition })).sort(byTopicThenPartition));
    } catch (error) {
      this.context.logger.warn({ group: this.options.group, err: messageOf(error) }, 'onRevoked failed; the partitions go anyway');
    }
    for (const state of revoked) this.owned.delete(keyOf(state));
  }

  /** Adds the partitions of `target` not owned yet; resolves after onAssigned's first attempt. */
  async assign(target: TopicPartition[]): Promise<void> {
    if (this.gone) return;
    const added = target.filter((tp) => !this.owned.has(keyOf(tp)));
    if (added.length === 0) return;
    const states: PartitionState[] = added.map((tp) => ({ ...tp, position: 0, restart: 0, ready: false, revoking: false, epoch: 0 }));
    for (const state of states) this.owned.set(keyOf(state), state);
    let ready: () => void;
    const firstAttempt = new Promise<void>((resolve) => (ready = resolve));
    const starting = this.start(states, () => ready());
    // A revocation waits for the start as it waits for a batch in flight.
    for (const state of states) state.inFlight = starting;
    await firstAttempt;
  }

  /** Asks onAssigned (again after a pause while it fails) for the start offsets, then delivers. */
  private async start(states: PartitionState[], attempted: () => void): Promise<void> {
    const partitions = states.map(({ topic, partition }) => ({ topic, partition }));
    for (;;) {
      try {
        const offsets = (await this.options.onAssigned?.(partitions)) ?? new Map<string, number>();
        for (const state of states) {
          const end = this.context.log(state.topic)[state.partition]!.length;
          const wanted =
            offsets.get(keyOf(state)) ??
            this.context.committed(state.topic).get(state.partition) ??
            (this.options.from === 'latest' ? end : 0);
          state.position = state.restart = Math.min(Math.max(wanted, 0), end);
          state.ready = true;
          state.inFlight = undefined;
        }
        attempted();
        this.pump();
        return;
      } catch (error) {
        attempted();
        this.context.logger.warn({ group: this.options.group, err: messageOf(error) }, 'onAssigned failed; asking again');
        await new Promise((resolve) => setTimeout(resolve, this.context.retryDelayMs));
        if (this.gone || states.every((state) => state.revoking)) return;
      }
    }
  }

  /** Starts a delivery on every owned partition that is idle and has messages waiting. */
  pump(): void {
    if (this.paused || this.gone || !this.started) return;
    for (const state of this.owned.values()) {
      if (!state.ready || state.revoking || state.inFlight) continue;
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
      const stored = this.context.log(state.topic)[state.partition]!.slice(state.position, state.position + this.context.maxBatchMessages);
      if (stored.length === 0) continue;
      // Copies: a handler that changes a value must not change what a redelivery sees.
      const messages = stored.map((message) => ({ ...message, value: message.value.slice() }));
      state.inFlight = this.deliver({ topic: state.topic, partition: state.partition, messages }, state);
    }
  }

  private async deliver(batch: MessageBatch, state: PartitionState): Promise<void> {
    const epoch = state.epoch;
    // Let the caller finish its synchronous work first, as a network consumer would.
    await Promise.resolve();
    try {
      await this.options.onBatch(batch);
      if (state.epoch === epoch) state.position = batch.messages.at(-1)!.offset + 1;
    } catch {
      // A failed handler sees the partition again from where it restarts, as after a Kafka restart.
      state.position = state.restart;
      state.epoch += 1;
      state.retryAt = Date.now() + this.context.retryDelayMs;
    } finally {
      state.inFlight = undefined;
    }
    queueMicrotask(() => this.pump());
  }
}

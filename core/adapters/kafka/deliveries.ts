import type { BusMessage, MessageBatch, TopicPartition } from '../../ports/bus.ts';

/** Where one owned partition is: what was fetched, what was delivered, where a failure restarts. */
export interface Slot extends TopicPartition {
  /** Offset of the next message to fetch. */
  fetchOffset: number;
  /** Where a failed batch restarts: the last commit, else where the partition started. */
  restart: number;
  /** Fetched, not yet delivered. */
  buffered: BusMessage[];
  bufferedBytes: number;
  /** Moves on each seek and failure: a fetch answered for an older epoch is dropped. */
  epoch: number;
  inFlight?: Promise<void>;
  /** After a failed batch: nothing before this time (epoch ms). */
  retryAt: number;
  revoking: boolean;
}

export interface DeliverySettings {
  /** Most messages in one `onBatch` call. */
  maxBatchMessages: number;
  /** A partition holding this many fetched bytes is not fetched again until some are delivered. */
  maxBufferedBytes: number;
  /** Pause before a partition whose batch failed is fetched and delivered again. */
  retryDelayMs: number;
}

export const keyOf = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;

/**
 * The owned partitions of one member between the fetcher and `onBatch`: each partition has at
 * most one batch in flight, the next waits for it (backpressure), a failed batch is fetched again
 * from the partition's restart offset after a pause, and a seek drops whatever was fetched before it.
 */
export class Deliveries {
  private readonly slots = new Map<string, Slot>();
  private paused = false;
  private started = false;

  constructor(
    private readonly onBatch: (batch: MessageBatch) => Promise<void>,
    private readonly settings: DeliverySettings,
    /** Called when a partition may want fetching again. */
    private readonly wake: () => void,
    /** Called when a partition must be fetched again from `slot.fetchOffset` (seek, failure, out of range). */
    private readonly reposition: (slot: Slot) => void = () => {},
  ) {}

  /** Lets deliveries begin (once the caller of `consume` holds its consumer). */
  start(): void {
    this.started = true;
    this.wake();
    for (const slot of this.slots.values()) this.pump(slot);
  }

  get(tp: TopicPartition): Slot | undefined {
    return this.slots.get(keyOf(tp));
  }

  all(): Slot[] {
    return [...this.slots.values()];
  }

  /** Starts delivering a newly owned partition from `offset`. */
  add(tp: TopicPartition, offset: number): void {
    const slot: Slot = {
      ...tp,
      fetchOffset: offset,
      restart: offset,
      buffered: [],
      bufferedBytes: 0,
      epoch: 0,
      retryAt: 0,
      revoking: false,
    };
    this.slots.set(keyOf(tp), slot);
    this.wake();
  }

  /** Stops delivering `partitions` and waits for their batches in flight; they stay owned until `remove`. */
  async stop(partitions: TopicPartition[]): Promise<void> {
    const slots = partitions.flatMap((tp) => this.slots.get(keyOf(tp)) ?? []);
    for (const slot of slots) slot.revoking = true;
    await Promise.allSettled(slots.map((slot) => slot.inFlight));
  }

  remove(partitions: TopicPartition[]): void {
    for (const tp of partitions) this.slots.delete(keyOf(tp));
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (paused) return;
    this.wake();
    for (const slot of this.slots.values()) this.pump(slot);
  }

  /** The next message delivered for the partition is at `offset`; what was fetched before is dropped. */
  seek(slot: Slot, offset: number): void {
    this.reset(slot, offset);
    this.wake();
  }

  /** A commit moved where the partition restarts after a failure. */
  committed(slot: Slot, nextOffset: number): void {
    slot.restart = nextOffset;
  }

  /** Partitions to fetch now: owned, not paused, not held after a failure, not holding too much. */
  fetchable(now = Date.now()): Slot[] {
    if (this.paused || !this.started) return [];
    return this.all().filter((slot) => !slot.revoking && slot.retryAt <= now && slot.bufferedBytes < this.settings.maxBufferedBytes);
  }

  /** The earliest time a partition held after a failure may be fetched again, if any. */
  nextRetryAt(): number | undefined {
    const times = this.all()
      .map((slot) => slot.retryAt)
      .filter((at) => at > Date.now());
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /** Messages fetched for the partition at `epoch`, ending before `nextOffset`. */
  received(slot: Slot, epoch: number, messages: BusMessage[], nextOffset: number, bytes: number): void {
    if (slot.epoch !== epoch || this.slots.get(keyOf(slot)) !== slot) return;
    slot.fetchOffset = Math.max(slot.fetchOffset, nextOffset);
    if (messages.length > 0) {
      if (slot.buffered.length === 0) slot.buffered = messages;
      else for (const message of messages) slot.buffered.push(message);
      slot.bufferedBytes += bytes;
    }
    this.pump(slot);
  }

  /** Where a fetch at the partition's offset fell outside the log: from the oldest message, or the end. */
  outOfRange(slot: Slot, epoch: number, logStartOffset: number, highWatermark: number): void {
    if (slot.epoch !== epoch) return;
    const offset = slot.fetchOffset < logStartOffset ? logStartOffset : Math.min(slot.fetchOffset, highWatermark);
    this.reset(slot, offset);
  }

  private reset(slot: Slot, offset: number): void {
    slot.epoch += 1;
    slot.buffered = [];
    slot.bufferedBytes = 0;
    slot.fetchOffset = offset;
    this.reposition(slot);
  }

  private pump(slot: Slot): void {
    if (slot.inFlight || slot.revoking || this.paused || !this.started || slot.buffered.length === 0) return;
    if (slot.retryAt > Date.now()) return;
    const take = Math.min(slot.buffered.length, this.settings.maxBatchMessages);
    const messages = take === slot.buffered.length ? slot.buffered : slot.buffered.slice(0, take);
    slot.buffered = take === slot.buffered.length ? [] : slot.buffered.slice(take);
    const bytes = slot.buffered.length === 0 ? slot.bufferedBytes : messages.reduce((sum, m) => sum + m.value.length, 0);
    slot.bufferedBytes -= bytes;
    slot.inFlight = this.deliver(slot, { topic: slot.topic, partition: slot.partition, messages });
  }

  private async deliver(slot: Slot, batch: MessageBatch): Promise<void> {
    const epoch = slot.epoch;
    try {
      await this.onBatch(batch);
    } catch {
      // Fetched again from where the partition restarts, after a pause.
      if (this.slots.get(keyOf(slot)) === slot) {
        this.reset(slot, slot.restart);
        slot.retryAt = Date.now() + this.settings.retryDelayMs;
        setTimeout(this.wake, this.settings.retryDelayMs).unref();
      }
    } finally {
      slot.inFlight = undefined;
    }
    if (slot.epoch === epoch) this.pump(slot);
    // Room in the partition's buffer: it may be fetched again.
    this.wake();
  }
}

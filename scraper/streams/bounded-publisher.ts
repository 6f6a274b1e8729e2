import { messageOf } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Bus } from '../../core/ports/bus.ts';

/** One message for the bus. */
export interface Outbound {
  topic: string;
  key: string;
  value: string;
}

export interface BoundedPublisherOptions {
  bus: Pick<Bus, 'publish'>;
  log: Logger;
  /** Messages that may wait; above it `onPressure(true)` asks the producers to stop, below half `onPressure(false)` lets them go on. */
  maxBuffered: number;
  onPressure(high: boolean): void;
  /** Most messages handed to one `publish`. Default 10000. */
  batchSize?: number;
  /** Wait after a failed publish before trying the same messages again, ms (doubled up to 10 s). Default 200. */
  retryDelayMs?: number;
}

/**
 * Messages on their way from the streams to the bus, in arrival order, one publish at a time so
 * the order per key holds. Never drops: a publish that fails is tried again, forever, while the
 * buffer tells the producers to stop when it holds `maxBuffered` (memory stays bounded by that,
 * plus what a paused socket had already read).
 */
export class BoundedPublisher {
  private queue: Outbound[] = [];
  private head = 0;
  private pumping: Promise<void> | undefined;
  private high = false;
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private published = 0;
  private offered = 0;

  constructor(private readonly options: BoundedPublisherOptions) {}

  /** Messages waiting for the bus. */
  get buffered(): number {
    return this.queue.length - this.head;
  }

  /** Messages the bus accepted so far. */
  get publishedCount(): number {
    return this.published;
  }

  /** Messages offered so far: once `publishedCount` reaches a value read here, the bus has every message offered before. */
  get offeredCount(): number {
    return this.offered;
  }

  /** Queues messages (always: the caller stops producing when told to). */
  offer(messages: readonly Outbound[]): void {
    if (messages.length === 0) return;
    for (const message of messages) this.queue.push(message);
    this.offered += messages.length;
    if (!this.high && this.buffered >= this.options.maxBuffered) {
      this.high = true;
      this.options.onPressure(true);
    }
    this.pumping ??= this.pump().finally(() => {
      this.pumping = undefined;
    });
  }

  /** Resolves when the buffer is below its bound (for producers that can wait, like REST refills). */
  waitForRoom(): Promise<void> {
    if (this.buffered < this.options.maxBuffered) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Resolves when everything offered so far is on the bus. */
  drained(): Promise<void> {
    if (this.buffered === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops retrying; what is still buffered is given up (the caller logs it). Returns how many. */
  close(): number {
    this.closed = true;
    const left = this.buffered;
    for (const resolve of [...this.roomWaiters, ...this.idleWaiters]) resolve();
    return left;
  }

  private async pump(): Promise<void> {
    const batchSize = this.options.batchSize ?? 10_000;
    while (this.buffered > 0 && !this.closed) {
      const batch = this.queue.slice(this.head, this.head + batchSize);
      if (!(await this.publishBatch(batch))) break;
      this.head += batch.length;
      this.published += batch.length;
      if (this.head > 50_000 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.release();
    }
    if (this.buffered === 0) {
      this.queue = [];
      this.head = 0;
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** Publishes one batch, topic by topic, retrying the topics not yet accepted; false when closed first. */
  private async publishBatch(batch: readonly Outbound[]): Promise<boolean> {
    const done = new Set<string>();
    let delay = this.options.retryDelayMs ?? 200;
    for (;;) {
      try {
        for (const [topic, messages] of byTopic(batch)) {
          if (done.has(topic)) continue;
          await this.options.bus.publish(topic, messages);
          done.add(topic);
        }
        return true;
      } catch (error) {
        this.options.log.warn({ err: messageOf(error), buffered: this.buffered }, 'Publishing stream messages failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(10_000, delay * 2);
        if (this.closed) return false;
      }
    }
  }

  private release(): void {
    if (this.buffered >= this.options.maxBuffered) return;
    for (const resolve of this.roomWaiters.splice(0)) resolve();
    if (this.high && this.buffered <= this.options.maxBuffered / 2) {
      this.high = false;
      this.options.onPressure(false);
    }
  }
}

/** Splits a batch by topic, keeping the order within each. */
function byTopic(batch: readonly Outbound[]): Map<string, { key: string; value: string }[]> {
  const topics = new Map<string, { key: string; value: string }[]>();
  for (const message of batch) {
    let list = topics.get(message.topic);
    if (!list) topics.set(message.topic, (list = []));
    list.push({ key: message.key, value: message.value });
  }
  return topics;
}

import type { Health } from './health.ts';

/** A message as the bus delivers it. Offsets are per partition, increasing by one. */
export interface BusMessage {
  key: string;
  value: string;
  partition: number;
  offset: number;
  /** When the bus appended it, epoch ms. */
  timestamp: number;
}

/** Messages of one partition, in offset order. */
export interface MessageBatch {
  topic: string;
  partition: number;
  messages: BusMessage[];
}

export interface SubscribeOptions {
  topic: string;
  /** Consumers in one group share the partitions; each message goes to one of them. */
  group: string;
  /** Where a group without a committed offset starts: the oldest message (default) or the next new one. */
  from?: 'earliest' | 'latest';
  /**
   * Called with each batch. The next batch of the same partition waits until this resolves.
   * If it rejects, delivery of that partition restarts from the last committed offset.
   */
  onBatch(batch: MessageBatch): Promise<void>;
  /**
   * Called before partitions are taken from this consumer (rebalance or close), after their
   * in-flight batches resolved. Whatever was not committed will be delivered again to the next owner.
   */
  onRevoked?(partitions: number[]): Promise<void> | void;
}

/** A consumer's membership in a group. */
export interface Subscription {
  /**
   * Commits `nextOffset` (the offset of the next message to read) for a partition this consumer
   * owns; rejects when it does not own it (any more). A commit that resolved was accepted while the
   * partition was this consumer's: its next owner starts reading at or after that offset.
   */
  commit(partition: number, nextOffset: number): Promise<void>;
  /** Stops delivering new batches until `resume()`; an in-flight batch finishes. */
  pause(): void;
  resume(): void;
  /** The partitions this consumer owns now. */
  assignment(): number[];
  /** Leaves the group: in-flight batches finish, `onRevoked` runs, nothing more is delivered. */
  close(): Promise<void>;
}

/**
 * The message bus (Kafka/Redpanda, or the in-memory twin).
 * - `publish` resolves once every message is durably appended; messages with the same key
 *   go to the same partition, in order.
 * - Offsets are committed only by `Subscription.commit`, never automatically: a consumer that
 *   stops without committing gets the same messages again.
 */
export interface Bus {
  publish(topic: string, messages: { key: string; value: string }[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** The end offset (next offset to be written) of each partition; for lag. */
  endOffsets(topic: string): Promise<Map<number, number>>;
  /** The committed offsets of a group on a topic (partitions without a commit are absent). */
  committedOffsets(group: string, topic: string): Promise<Map<number, number>>;
  health(): Promise<Health>;
  close(): Promise<void>;
}

import type { Health } from './health.ts';

/** One partition of one topic. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A message as the bus delivers it: the raw bytes, never decoded by the bus. Offsets are per partition, increasing. */
export interface BusMessage {
  key: string;
  /** The value's bytes exactly as published (UTF-8 JSON for every cryptolake topic). */
  value: Uint8Array;
  topic: string;
  partition: number;
  offset: number;
  /** When the bus appended it, epoch ms. */
  timestamp: number;
}

/** Messages of one partition, in offset order. */
export interface MessageBatch extends TopicPartition {
  messages: BusMessage[];
}

/** How one member joins a consumer group; the callbacks are its contract with the bus. */
export interface ConsumeOptions {
  /** Every topic this member reads, in one group membership. */
  topics: string[];
  /** Members of one group share the partitions of the topics they read; each message goes to one of them. */
  group: string;
  /**
   * A stable name of this member (Kafka static membership, `group.instance.id`), unique in the group.
   * A member joining with the name of a live one takes its partitions at once, without a rebalance
   * of the others; the older one is fenced: once it learns so (at its next heartbeat on Kafka) it
   * delivers nothing more, and its commits reject.
   * So a process restarted after a crash gets its partitions back within seconds. Unset: a dynamic
   * member, whose partitions a crash leaves idle until the group notices it is gone.
   */
  instanceId?: string;
  /**
   * Where a partition starts when `onAssigned` gives no offset and the group committed none:
   * the oldest retained message (default) or the end of the partition when it is assigned.
   */
  from?: 'earliest' | 'latest';
  /**
   * Called when partitions are given to this member, before any of their messages is delivered.
   * Returns the offset each starts at (key `topic:partition`); the bus then delivers from exactly
   * that offset (from the oldest retained message when it is older, from the end when it is past
   * the end). Partitions left out start at the group's committed offset, else at `from`.
   * If it rejects, it is called again for the same partitions after a short pause; their messages wait.
   */
  onAssigned?(partitions: TopicPartition[]): Promise<Map<string, number>>;
  /**
   * Called before partitions are taken away (rebalance or close), after their in-flight `onBatch`
   * calls settled; nothing more of them is delivered afterwards, and commits of them are accepted
   * until it resolves. A rebalance may revoke and assign again partitions this member keeps.
   * Also called when a newer member with this `instanceId` fenced this one: then the partitions
   * may already be the newer member's, and commits of them reject.
   */
  onRevoked?(partitions: TopicPartition[]): Promise<void> | void;
  /**
   * Called with each batch, never before `consume` resolved (so it may use the consumer
   * `consume` returns). The next batch of the same partition waits until it resolves
   * (backpressure); batches of different partitions may be in flight together. If it rejects,
   * after a short pause the partition is delivered again from where it restarts: the last offset
   * this member committed for it, else where it started when assigned.
   */
  onBatch(batch: MessageBatch): Promise<void>;
}

/** A member of a consumer group. */
export interface Consumer {
  /**
   * Records `nextOffset` (the offset of the next message to read) of owned partitions as the
   * group's committed offsets: for lag monitoring, and where the next owner starts when its
   * `onAssigned` gives no offset. Rejects (LakeError `BUS_NOT_OWNER`) when a partition is not
   * this member's, and then commits none. A commit that resolved was accepted while the partitions
   * were this member's. Offsets never move by themselves: a member that stops without committing
   * leaves them where they were.
   */
  commit(offsets: (TopicPartition & { nextOffset: number })[]): Promise<void>;
  /**
   * The next message delivered for this owned partition is at `offset` (batches already in flight
   * are still delivered). Throws (LakeError `BUS_NOT_OWNER`) for a partition this member does not own.
   */
  seek(partition: TopicPartition, offset: number): void;
  /** Stops (true) or resumes (false) fetching and delivering every partition; in-flight batches finish. */
  setPaused(paused: boolean): void;
  /** The partitions this member owns now, sorted by topic then partition. */
  assignment(): TopicPartition[];
  /** Leaves the group: in-flight batches finish, onRevoked runs, nothing more is delivered. */
  close(): Promise<void>;
}

/**
 * The message bus (Kafka, or the in-memory twin).
 * - `publish` resolves once every message is durably appended; messages with the same key go to
 *   the same partition, in order. Topics are created when missing.
 * - `consume` resolves once the member joined its group and its first assignment (maybe empty)
 *   is in place: `onAssigned` answered and, unless it rejected, every partition's start offset is
 *   fixed, so a message published afterwards to a partition it owns is delivered. Rejects
 *   (LakeError) when the group cannot be joined.
 * - Offsets are committed only by `Consumer.commit`, never automatically.
 */
export interface Bus {
  publish(topic: string, messages: { key: string; value: string | Uint8Array }[]): Promise<void>;
  consume(options: ConsumeOptions): Promise<Consumer>;
  /** The end offset (next offset to be written) of each partition; for lag. */
  endOffsets(topic: string): Promise<Map<number, number>>;
  /** The committed offsets of a group on a topic (partitions without a commit are absent). */
  committedOffsets(group: string, topic: string): Promise<Map<number, number>>;
  health(): Promise<Health>;
  /** Closes every consumer opened by this bus (as `Consumer.close`), then the connections. */
  close(): Promise<void>;
}

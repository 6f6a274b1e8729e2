import type { BusMessage, MessageBatch, TopicPartition } from '../core/ports/bus.ts';

/** The messages of one bus partition in a flush, and where its offsets move. */
export interface PartitionRange {
  tp: TopicPartition;
  /** The lake's next offset of the partition before this flush; undefined when the lake has none yet. */
  from: number | undefined;
  /** The next offset after the flush's last message. */
  to: number;
  messages: BusMessage[];
}

/** What one commit writes: the ranges of every partition that had messages. */
export interface Flush {
  ranges: PartitionRange[];
  records: number;
  bytes: number;
}

interface Open {
  tp: TopicPartition;
  from: number | undefined;
  messages: BusMessage[];
}

// A message costs its bytes plus the object around it.
const messageBytes = (message: BusMessage): number => message.value.byteLength + 160;

/**
 * The messages consumed since the last flush, per partition, and where each partition stands in
 * the lake. Pure bookkeeping, no I/O: the processor adds what the bus delivers, asks whether the
 * window is due, and takes it whole for one commit. A taken window moves each partition's `from`
 * to its `to`; `reset` puts a partition back to the lake's offset (a fence, a revocation).
 */
export class FlushWindow {
  private open = new Map<string, Open>();
  /** Where each owned partition's next flush starts, as far as this processor knows. */
  private readonly next = new Map<string, number | undefined>();
  /** Where a partition is read from when that is not its lake offset (a bus newer than the lake's offsets). */
  private readonly readFrom = new Map<string, number>();
  private openedAt: number | undefined;
  private recordCount = 0;
  private byteCount = 0;

  get records(): number {
    return this.recordCount;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /**
   * A partition was assigned: its next flush starts at the lake's offset (undefined: the lake has
   * none), and takes the messages from `readFrom` on (default: that offset). A bus partition that
   * ends before the lake's offset is not the one the lake's offset counts (an in-memory bus of an
   * earlier process, a topic created again): it is read from its start, fenced by the lake's offset.
   */
  start(tp: TopicPartition, lakeOffset: number | undefined, readFrom?: number): void {
    this.reset(tp, lakeOffset);
    if (readFrom !== undefined) this.readFrom.set(keyOf(tp), readFrom);
  }

  /** Forgets what the window holds of a partition and restarts it at the lake's offset; `null` forgets the partition. */
  reset(tp: TopicPartition, lakeOffset: number | undefined | null): void {
    const key = keyOf(tp);
    const dropped = this.open.get(key);
    if (dropped) {
      this.open.delete(key);
      this.recordCount -= dropped.messages.length;
      this.byteCount -= dropped.messages.reduce((sum, message) => sum + messageBytes(message), 0);
    }
    this.readFrom.delete(key);
    if (lakeOffset === null) this.next.delete(key);
    else this.next.set(key, lakeOffset);
    if (this.open.size === 0) this.openedAt = undefined;
  }

  /** True when this processor owns the partition (started and not forgotten). */
  owns(tp: TopicPartition): boolean {
    return this.next.has(keyOf(tp));
  }

  /** Adds a delivered batch; messages below the partition's lake offset are already in the lake and skipped. */
  add(batch: MessageBatch, nowMs: number): void {
    const key = keyOf(batch);
    if (!this.next.has(key)) return;
    const lakeOffset = this.next.get(key);
    const floor = this.readFrom.get(key) ?? lakeOffset;
    let open = this.open.get(key);
    for (const message of batch.messages) {
      const last = open?.messages.at(-1)?.offset;
      if ((floor !== undefined && message.offset < floor) || (last !== undefined && message.offset <= last)) continue;
      if (!open) {
        open = { tp: { topic: batch.topic, partition: batch.partition }, from: lakeOffset, messages: [] };
        this.open.set(key, open);
      }
      open.messages.push(message);
      this.recordCount += 1;
      this.byteCount += messageBytes(message);
      this.openedAt ??= nowMs;
    }
  }

  /** True when the window should be flushed: full, old enough, or over its byte budget. */
  due(nowMs: number, limits: { maxRecords: number; maxAgeMs: number; maxBytes: number }): boolean {
    if (this.recordCount === 0) return false;
    return (
      this.recordCount >= limits.maxRecords || this.byteCount >= limits.maxBytes || nowMs - (this.openedAt ?? nowMs) >= limits.maxAgeMs
    );
  }

  /** Takes everything for one commit; each partition's next flush starts where this one ends. */
  take(): Flush {
    const ranges: PartitionRange[] = [];
    for (const [key, open] of this.open) {
      const to = open.messages.at(-1)!.offset + 1;
      ranges.push({ tp: open.tp, from: open.from, to, messages: open.messages });
      this.next.set(key, to);
      this.readFrom.delete(key);
    }
    const flush = { ranges, records: this.recordCount, bytes: this.byteCount };
    this.open = new Map();
    this.recordCount = 0;
    this.byteCount = 0;
    this.openedAt = undefined;
    return flush;
  }
}

/** `prices/0`. */
export function keyOf(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}

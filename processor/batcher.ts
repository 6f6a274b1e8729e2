import type { AnyDataset } from './datasets.ts';
import type { OffsetRange } from './partitioning.ts';

/** One parsed message on its way to the lake: the dataset it belongs to, its row and its event time. */
export interface BatchItem {
  dataset: AnyDataset;
  row: unknown;
  eventTimeMs: number;
}

/** The buffered records of one bus partition: a contiguous offset range. */
export interface Batch extends OffsetRange {
  items: BatchItem[];
  /** Estimated memory held by the items. */
  bytes: number;
  /** Clock time when the first item arrived, epoch ms. */
  openedAt: number;
}

/**
 * Micro-batches per bus partition. Pure bookkeeping, no I/O: the processor decides when to flush;
 * the batcher says which batches are full, old, or the oldest, and hands them over. A batch can
 * be pinned to end at a given offset (replaying a flush that was not committed), and a pinned
 * batch is handed over only when it reaches that offset, so the replay produces the same files.
 */
export class Batcher {
  private readonly batches = new Map<string, Batch>();
  private readonly cutAt = new Map<string, number>();
  private bytes = 0;
  private records = 0;

  constructor(private readonly maxRecords: number) {}

  get bufferedBytes(): number {
    return this.bytes;
  }

  get bufferedRecords(): number {
    return this.records;
  }

  /** Adds one message's item; returns the batch if this item completed it (it is then taken out). */
  add(topic: string, partition: number, offset: number, item: BatchItem, bytes: number, nowMs: number): Batch | undefined {
    const key = keyOf(topic, partition);
    let batch = this.batches.get(key);
    if (!batch) {
      batch = { topic, partition, firstOffset: offset, lastOffset: offset, items: [], bytes: 0, openedAt: nowMs };
      this.batches.set(key, batch);
    }
    batch.items.push(item);
    batch.lastOffset = offset;
    batch.bytes += bytes;
    this.bytes += bytes;
    this.records += 1;
    const cut = this.cutAt.get(key);
    if (cut !== undefined ? offset >= cut : batch.items.length >= this.maxRecords) {
      this.cutAt.delete(key);
      return this.take(topic, partition);
    }
    return undefined;
  }

  /** Makes the next batch of this partition end exactly at `lastOffset`. */
  pin(topic: string, partition: number, lastOffset: number): void {
    this.cutAt.set(keyOf(topic, partition), lastOffset);
  }

  isPinned(topic: string, partition: number): boolean {
    return this.cutAt.has(keyOf(topic, partition));
  }

  /** Takes out a partition's batch, if it has one. */
  take(topic: string, partition: number): Batch | undefined {
    const key = keyOf(topic, partition);
    const batch = this.batches.get(key);
    if (!batch) return undefined;
    this.batches.delete(key);
    this.bytes -= batch.bytes;
    this.records -= batch.items.length;
    return batch;
  }

  /** Forgets a partition entirely (it was revoked): its batch and any pin. */
  drop(topic: string, partition: number): Batch | undefined {
    this.cutAt.delete(keyOf(topic, partition));
    return this.take(topic, partition);
  }

  /** Unpinned batches whose first item is at least `maxAgeMs` old, oldest first. */
  due(nowMs: number, maxAgeMs: number): Batch[] {
    return this.unpinned().filter((batch) => nowMs - batch.openedAt >= maxAgeMs);
  }

  /** Every unpinned batch, oldest first. */
  unpinned(): Batch[] {
    return [...this.batches.values()]
      .filter((batch) => !this.cutAt.has(keyOf(batch.topic, batch.partition)))
      .sort((a, b) => a.openedAt - b.openedAt);
  }

  /** Every batch, pinned or not. */
  all(): Batch[] {
    return [...this.batches.values()];
  }
}

function keyOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

import type { ObjectStore } from '../core/ports/object-store.ts';
import type { OffsetRange } from './partitioning.ts';

/**
 * Remembers, in the lake, the offset range of each partition's latest flush, written before the
 * flush's files. After a crash between storing the files and committing, the next owner of the
 * partition finds a range that starts at the committed offset and cuts its replayed batch at the
 * same last offset, so the replay overwrites the same objects instead of adding overlapping ones
 * (even when the first run flushed on a timer at a point a replay would not hit by itself).
 */
export class FlushJournal {
  constructor(
    private readonly store: ObjectStore,
    private readonly group: string,
  ) {}

  /** Records the range about to be flushed. Throws when the store fails. */
  async record(range: OffsetRange): Promise<void> {
    const body = JSON.stringify({ firstOffset: range.firstOffset, lastOffset: range.lastOffset });
    await this.store.put(this.keyOf(range.topic, range.partition), new TextEncoder().encode(body));
  }

  /** The latest recorded range of a partition, or `undefined` when there is none or it is malformed. Throws when the store fails. */
  async read(topic: string, partition: number): Promise<OffsetRange | undefined> {
    const bytes = await this.store.get(this.keyOf(topic, partition));
    if (!bytes) return undefined;
    try {
      const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { firstOffset?: unknown; lastOffset?: unknown };
      if (!Number.isInteger(parsed.firstOffset) || !Number.isInteger(parsed.lastOffset)) return undefined;
      return { topic, partition, firstOffset: parsed.firstOffset as number, lastOffset: parsed.lastOffset as number };
    } catch {
      return undefined;
    }
  }

  private keyOf(topic: string, partition: number): string {
    return `_processor/${this.group}/${topic}/p${partition}.json`;
  }
}

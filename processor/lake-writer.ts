import pRetry from 'p-retry';
import { LakeError, messageOf } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { ObjectStore } from '../core/ports/object-store.ts';
import type { Batch, BatchItem } from './batcher.ts';
import type { AnyDataset } from './datasets.ts';
import type { FlushJournal } from './flush-journal.ts';
import type { ParquetEncoder } from './parquet.ts';
import { partKey, utcDay, type OffsetRange } from './partitioning.ts';
import { DEFAULT_ROLLUPS, derivedKey, type AnyDerivedDataset } from './rollups.ts';

/** How store writes are retried: capped exponential backoff with jitter. */
export interface RetryPolicy {
  retries: number;
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, minTimeoutMs: 200, maxTimeoutMs: 10_000 };

/** Checks a flush makes around its journal entry (the processor's ownership fence). */
export interface WriteHooks {
  beforeJournal?: () => void | Promise<void>;
  beforeFiles?: () => Promise<void>;
}

/** One object written by a flush (rollup twins are not listed: they hold no records of their own). */
export interface WrittenFile {
  key: string;
  dataset: string;
  records: number;
  bytes: number;
}

/**
 * Turns a flushed batch into lake objects: items are grouped by dataset and UTC event day, and
 * each group becomes one Parquet file whose key is fixed by the batch's offset range. The range
 * goes to the flush journal first. Resolves only when every object is stored; each `put` is
 * retried while the error is retryable. Each file of a dataset that has rollups (`candles_1m`
 * for `prices`) gets a twin of the same name in the rollup's folder, stored just before it: a
 * replay rewrites both, so rollups hold every record once, as the raw files do.
 */
export class LakeWriter {
  constructor(
    private readonly store: ObjectStore,
    private readonly encoder: ParquetEncoder,
    private readonly journal: FlushJournal,
    private readonly log: Logger,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    /** Called when a write attempt failed and will be tried again (the processor pauses meanwhile). */
    private readonly onRetry: (error: unknown) => void = () => undefined,
    /** Datasets derived file by file from raw ones (default: the 1-minute candle rollup of prices). */
    private readonly rollups: readonly AnyDerivedDataset[] = DEFAULT_ROLLUPS,
  ) {}

  /**
   * Stores the batch's files. `hooks.beforeJournal` runs before each attempt to record the range
   * and `hooks.beforeFiles` once between the journal and the files; either may throw to stop.
   */
  async write(batch: Batch, hooks: WriteHooks = {}): Promise<WrittenFile[]> {
    const written: WrittenFile[] = [];
    const range = `${batch.topic}/${batch.partition} offsets ${batch.firstOffset}-${batch.lastOffset}`;
    await this.withRetry(`recording the flush of ${range}`, async () => {
      await hooks.beforeJournal?.();
      await this.journal.record(batch);
    });
    await hooks.beforeFiles?.();
    for (const group of groupByFile(batch)) {
      const rows = group.items.map((item) => item.row);
      for (const rollup of this.rollups) {
        if (rollup.from !== group.dataset.folder) continue;
        const key = derivedKey(group.key, rollup);
        await this.withRetry(`writing the rollup of ${rows.length} records to ${key}`, async () => {
          const partials = rollup.derive(rows);
          await this.store.put(key, await this.encoder.encode(rollup.table, partials, `rollups for ${key}`));
        });
      }
      const what = `${rows.length} records to ${group.key}`;
      const body = await this.withRetry(`writing ${what}`, async () => {
        const bytes = await this.encoder.encode(group.dataset.table, rows, `records for ${group.key}`);
        await this.store.put(group.key, bytes);
        return bytes;
      });
      written.push({ key: group.key, dataset: group.dataset.folder, records: rows.length, bytes: body.byteLength });
    }
    return written;
  }

  private async withRetry<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    let attempts = 0;
    try {
      return await pRetry(
        async () => {
          attempts += 1;
          return attempt();
        },
        {
          retries: this.retry.retries,
          minTimeout: this.retry.minTimeoutMs,
          maxTimeout: this.retry.maxTimeoutMs,
          randomize: true,
          shouldRetry: ({ error }) => error instanceof LakeError && error.retryable,
          onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
            if (retriesLeft > 0 && error instanceof LakeError && error.retryable) {
              this.log.warn({ attempt: attemptNumber, retriesLeft, err: messageOf(error) }, `Retrying: ${what}`);
              this.onRetry(error);
            }
          },
        },
      );
    } catch (cause) {
      throw new LakeError('STORE_WRITE_FAILED', `${what}: gave up after ${attempts} attempts: ${messageOf(cause)}`, {
        cause,
        retryable: cause instanceof LakeError ? cause.retryable : false,
      });
    }
  }
}

interface FileGroup {
  key: string;
  dataset: AnyDataset;
  items: BatchItem[];
}

/** The files of a batch: one per (dataset, UTC day), keyed by the batch's offset range. */
export function groupByFile(batch: Batch): FileGroup[] {
  const range: OffsetRange = {
    topic: batch.topic,
    partition: batch.partition,
    firstOffset: batch.firstOffset,
    lastOffset: batch.lastOffset,
  };
  const groups = new Map<string, FileGroup>();
  for (const item of batch.items) {
    const key = partKey(item.dataset.folder, utcDay(item.eventTimeMs), range);
    let group = groups.get(key);
    if (!group) {
      group = { key, dataset: item.dataset, items: [] };
      groups.set(key, group);
    }
    group.items.push(item);
  }
  return [...groups.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}

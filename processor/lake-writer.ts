import { hostname } from 'node:os';
import type { DuckDBConnection } from '@duckdb/node-api';
import { readOffsets } from '../core/adapters/ducklake/offsets.ts';
import { CATALOG_RACE, LakeSession, waitAfterRace } from '../core/adapters/ducklake/session.ts';
import { ensureLakeTables } from '../core/adapters/ducklake/tables.ts';
import type { LakeLocation } from '../core/adapters/select.ts';
import type { IngestedDataset } from '../core/datasets/index.ts';
import type { TopicPartition } from '../core/ports/bus.ts';
import { messageOf } from '../core/errors.ts';
import type { Health } from '../core/ports/health.ts';
import { commitFlush, type CommitOutcome } from './commit.ts';
import type { Flush } from './flush-window.ts';
import { Stager, type StagedFlush } from './staging.ts';

/** How a flush's messages were read: rejected ones, and how many each path decided (see `StagedFlush`). */
export type StagingReport = Pick<StagedFlush, 'rejected' | 'bulk' | 'exact' | 'bulkFailures'>;

/** Commits of one write tried at once when they lose a race with another writer of the catalog (maintenance, a replica). */
const RACE_ATTEMPTS = 5;

/** How much DuckDB the writer may use. */
export interface WriterLimits {
  memoryLimit: string;
  threads: number;
}

/**
 * The processor's hold on the lake: one read-write DuckDB session with the catalog attached, the
 * tables ensured at open, and the two lake operations of the flow: where each partition stands
 * (`offsets`) and `write` (stage -> deduplicate -> commit, one transaction). Calls are serialised:
 * one commit at a time per processor.
 */
export class LakeWriter {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly author = `processor ${hostname()}-${process.pid}`;

  private constructor(
    private readonly session: LakeSession,
    private readonly connection: DuckDBConnection,
    private readonly stager: Stager,
  ) {}

  /** Attaches the lake read-write and makes sure every dataset's table exists. */
  static async open(lake: LakeLocation, datasets: ReadonlyMap<string, IngestedDataset>, limits: WriterLimits): Promise<LakeWriter> {
    const session = await LakeSession.open(lake, { readOnly: false, ...limits });
    try {
      const connection = await session.connect();
      await ensureLakeTables(connection);
      return new LakeWriter(session, connection, new Stager(connection, datasets));
    } catch (error) {
      session.close();
      throw error;
    }
  }

  /** The lake's next offset of each partition (key `topic/partition`); partitions it never held are absent. */
  offsets(partitions: readonly TopicPartition[]): Promise<Map<string, number>> {
    return this.serial(() => readOffsets(this.connection, partitions));
  }

  /** Parses, validates, deduplicates and commits one flush with its offsets; see `commitFlush`. */
  write(flush: Flush, nowMs: number): Promise<CommitOutcome & { staging: StagingReport }> {
    return this.serial(async () => {
      const staged = await this.stager.stage(flush, nowMs);
      try {
        const outcome = await this.commitRacing(() => commitFlush(this.connection, flush.ranges, staged.datasets, { author: this.author }));
        return {
          ...outcome,
          staging: { rejected: staged.rejected, bulk: staged.bulk, exact: staged.exact, bulkFailures: staged.bulkFailures },
        };
      } finally {
        await this.stager.clear(staged);
      }
    });
  }

  /**
   * A commit that lost a race (SQLite's lock held by a maintenance pass, a DuckLake conflict) is
   * tried again after a short wait, a few times, before the error reaches the processor: the race
   * is routine, nothing was committed, and the fenced offsets still refuse a range another writer
   * took meanwhile.
   */
  private async commitRacing(commit: () => Promise<CommitOutcome>): Promise<CommitOutcome> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await commit();
      } catch (error) {
        if (attempt >= RACE_ATTEMPTS || !CATALOG_RACE.test(messageOf(error))) throw error;
        await waitAfterRace(attempt);
      }
    }
  }

  /** The catalog answers a read. */
  async health(): Promise<Health> {
    try {
      await this.serial(() => this.connection.run('SELECT count(*) FROM lake.snapshots()'));
      return { ok: true, detail: 'the lake catalog answers' };
    } catch (error) {
      return { ok: false, detail: `the lake catalog does not answer: ${String(error).split('\n')[0]}` };
    }
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    this.session.close();
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

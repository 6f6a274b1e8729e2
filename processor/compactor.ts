import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { LakeError, messageOf } from '../core/errors.ts';
import {
  compactedKey,
  compactionId,
  isCompactedKey,
  liveFiles,
  markerKey,
  readMarkers,
  type CompactionMarker,
} from '../core/lake-layout.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ObjectInfo, ObjectStore } from '../core/ports/object-store.ts';
import { DATASETS } from '../core/records/topics.ts';
import { processorMetrics } from './processor-metrics.ts';
import { DEFAULT_ROLLUPS, type AnyDerivedDataset } from './rollups.ts';

export interface CompactorOptions {
  store: ObjectStore;
  log: Logger;
  metrics?: Metrics;
  /** Size a compacted file aims for, bytes (default 128 MiB). Files at 3/4 of it or more are left alone. */
  targetBytes?: number;
  /** Time between a marker and the deletion of its sources, ms (default 60 s): readers that listed before the marker finish first. */
  graceMs?: number;
  /** Age of a `compacted-*` file without a marker before it counts as a crashed run's leftover, ms (default 1 h). */
  orphanGraceMs?: number;
  now?: () => number;
  /** The rollups whose partials are merged, not copied, and compacted with their raw day (default: the lake writer's). */
  rollups?: readonly AnyDerivedDataset[];
}

/** What one day folder's compaction did. */
export interface CompactionResult {
  dayFolder: string;
  /** Compacted files written (and committed by a marker) in this run. */
  compactions: number;
  filesMerged: number;
  rows: number;
  /** Sources of earlier markers and orphans deleted by the sweep. */
  deleted: number;
  /** Live files of the folder after the run (sources not yet swept excluded). */
  liveFiles: number;
}

/** The sort order of the raw datasets' compacted files (rollups use their own `table.sortBy`). */
const SORT_BY: Record<string, string> = {
  [DATASETS.prices]: '"symbol", "ts"',
  [DATASETS.deadLetter]: '"at"',
  [DATASETS.trades]: '"venue", "market", "trade_id"',
  [DATASETS.gaps]: '"venue", "market", "first_trade_id"',
};

/**
 * Merges the small Parquet files of a day folder into files near a target size. Each step is
 * safe to crash after: the compacted file is named by its sources and invisible to readers until
 * its marker exists; the marker is the commit; sources are deleted only after the grace period,
 * by the sweep of a later call. Run one compactor per lake at a time.
 */
export class Compactor {
  private readonly targetBytes: number;
  private readonly graceMs: number;
  private readonly orphanGraceMs: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly metrics: ReturnType<typeof processorMetrics> | undefined;
  /** Rollup datasets by folder: their rows are partial aggregates, merged per group instead of copied. */
  private readonly rollups: Map<string, AnyDerivedDataset>;

  private constructor(
    private readonly options: CompactorOptions,
    private readonly instance: DuckDBInstance,
    private readonly db: DuckDBConnection,
  ) {
    this.targetBytes = options.targetBytes ?? 128 * 1024 * 1024;
    this.graceMs = options.graceMs ?? 60_000;
    this.orphanGraceMs = options.orphanGraceMs ?? 60 * 60_000;
    this.now = options.now ?? Date.now;
    this.log = options.log.child({ component: 'compactor' });
    this.metrics = options.metrics ? processorMetrics(options.metrics) : undefined;
    this.rollups = new Map((options.rollups ?? DEFAULT_ROLLUPS).map((rollup) => [rollup.folder, rollup]));
  }

  static async open(options: CompactorOptions): Promise<Compactor> {
    const instance = await DuckDBInstance.create(':memory:', { memory_limit: '1GB', threads: '2' });
    return new Compactor(options, instance, await instance.connect());
  }

  /** The day folders of a dataset (`prices/year=2026/month=11/day=22`), optionally only one day (`2026-11-22`). */
  async dayFolders(dataset: string, day?: string): Promise<string[]> {
    if (day) {
      const [year, month, dd] = day.split('-');
      return [`${dataset}/year=${year}/month=${month}/day=${dd}`];
    }
    const folders = new Set<string>();
    for (const object of await this.options.store.list(`${dataset}/`)) {
      const match = /^(.*\/year=\d+\/month=\d+\/day=\d+)\//.exec(object.key);
      if (match) folders.add(match[1]!);
    }
    return [...folders].sort();
  }

  /**
   * Sweeps, then compacts one day folder; a raw day also compacts the same day of its rollups
   * (`candles_1m` for `prices`, `trade_candles_1m` for `trades`), whose results are logged, not
   * returned. Throws when the store fails; a rerun continues where it stopped.
   */
  async compactDay(dayFolder: string): Promise<CompactionResult> {
    const [dataset, ...rest] = dayFolder.split('/');
    const result = await this.compactFolder(dayFolder);
    for (const rollup of this.rollups.values()) {
      if (rollup.from === dataset) await this.compactFolder([rollup.folder, ...rest].join('/'));
    }
    return result;
  }

  private async compactFolder(dayFolder: string): Promise<CompactionResult> {
    const { store } = this.options;
    const deleted = await this.sweep(dayFolder);
    const markers = await readMarkers(store, `${dayFolder}/`);
    const objects = (await store.list(`${dayFolder}/`)).filter((object) => object.key.endsWith('.parquet'));
    const live = new Set(
      liveFiles(
        objects.map((object) => object.key),
        markers,
      ),
    );
    const small = objects.filter((object) => live.has(object.key) && object.size < this.targetBytes * 0.75);
    const result: CompactionResult = { dayFolder, compactions: 0, filesMerged: 0, rows: 0, deleted, liveFiles: live.size };
    for (const group of this.groups(small)) {
      const marker = await this.merge(dayFolder, group);
      result.compactions += 1;
      result.filesMerged += group.length;
      result.rows += marker.rows;
      result.liveFiles -= group.length - 1;
      this.metrics?.compactions.inc();
      this.metrics?.compactionFilesMerged.inc(group.length);
    }
    this.metrics?.lakeFiles.set({ folder: dayFolder }, result.liveFiles);
    if (result.compactions > 0 || deleted > 0) this.log.info({ ...result }, 'Compacted day folder');
    return result;
  }

  /**
   * Deletes the sources of markers older than the grace period and compacted files that no
   * marker committed within `orphanGraceMs`. Idempotent. Returns how many objects it deleted.
   */
  async sweep(dayFolder: string): Promise<number> {
    const { store } = this.options;
    const markers = await readMarkers(store, `${dayFolder}/`);
    const objects = await store.list(`${dayFolder}/`);
    const present = new Map(objects.map((object) => [object.key, object]));
    const committed = new Set(markers.map((marker) => marker.compacted));
    const doomed = new Set<string>();
    for (const marker of markers) {
      if (!present.has(marker.compacted) || this.now() - marker.at < this.graceMs) continue;
      for (const source of marker.sources) if (present.has(source)) doomed.add(source);
    }
    for (const object of objects) {
      if (isCompactedKey(object.key) && !committed.has(object.key) && this.now() - object.lastModified >= this.orphanGraceMs)
        doomed.add(object.key);
    }
    for (const key of doomed) await store.delete(key);
    return doomed.size;
  }

  async close(): Promise<void> {
    this.db.closeSync();
    this.instance.closeSync();
  }

  /** Consecutive runs of small files adding up to about the target; a lone file is left as it is. */
  private groups(files: ObjectInfo[]): ObjectInfo[][] {
    const groups: ObjectInfo[][] = [];
    let current: ObjectInfo[] = [];
    let bytes = 0;
    for (const file of files) {
      if (current.length > 0 && bytes + file.size > this.targetBytes) {
        groups.push(current);
        current = [];
        bytes = 0;
      }
      current.push(file);
      bytes += file.size;
    }
    groups.push(current);
    return groups.filter((group) => group.length > 1);
  }

  /** Steps 1 and 2 of the protocol: the compacted file, then its marker (the commit). */
  private async merge(dayFolder: string, group: ObjectInfo[]): Promise<CompactionMarker> {
    const { store } = this.options;
    const sources = group.map((object) => object.key).sort();
    const id = compactionId(sources);
    const target = compactedKey(dayFolder, id);
    const dataset = dayFolder.split('/')[0]!;
    const folder = await mkdtemp(join(tmpdir(), 'cryptolake-compact-'));
    try {
      const locals: string[] = [];
      for (const [index, key] of sources.entries()) {
        const bytes = await store.get(key);
        if (!bytes) throw new LakeError('STORE_UNAVAILABLE', `compacting ${dayFolder}: source ${key} vanished; run again`);
        const local = join(folder, `source-${index}.parquet`);
        await writeFile(local, bytes);
        locals.push(local);
      }
      const list = `[${locals.map((path) => `'${path}'`).join(', ')}]`;
      const output = join(folder, 'compacted.parquet');
      // A rollup's rows are partial aggregates: merge each group's partials into one row, and check
      // the counts are conserved. Other datasets' rows are copied, and checked all there.
      const rollup = this.rollups.get(dataset);
      const aggregate = rollup?.merge;
      const sortBy = rollup ? rollup.table.sortBy.map((column) => `"${column}"`).join(', ') : SORT_BY[dataset];
      const order = sortBy ? ` ORDER BY ${sortBy}` : '';
      const read = `read_parquet(${list}, hive_partitioning = false, union_by_name = true)`;
      const totals = `count(*)::BIGINT AS n${(aggregate?.conserved ?? []).map((column) => `, sum("${column}")::DOUBLE AS "${column}"`).join('')}`;
      let rows: number;
      try {
        const [before] = (await this.db.runAndReadAll(`SELECT ${totals} FROM ${read}`)).getRowObjectsJS();
        const select = aggregate ? `SELECT ${aggregate.select} FROM ${read} GROUP BY ${aggregate.groupBy}` : `SELECT * FROM ${read}`;
        await this.db.run(`COPY (${select}${order}) TO '${output}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)`);
        const [after] = (await this.db.runAndReadAll(`SELECT ${totals} FROM read_parquet('${output}')`)).getRowObjectsJS();
        // Aggregated partials shrink in rows but must keep their sums; copied rows must all be there.
        for (const column of aggregate ? aggregate.conserved : ['n']) {
          if (after![column] !== before![column])
            throw new Error(`merged file holds ${String(after![column])} ${column}, sources ${String(before![column])}`);
        }
        rows = Number(after!.n);
      } catch (cause) {
        throw new LakeError('STORE_WRITE_FAILED', `merging ${sources.length} files of ${dayFolder}: ${messageOf(cause)}`, { cause });
      }
      await store.put(target, await readFile(output));
      const marker: CompactionMarker = { compacted: target, sources, rows, at: this.now() };
      await store.put(markerKey(dayFolder, id), new TextEncoder().encode(JSON.stringify(marker)));
      return marker;
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }
}

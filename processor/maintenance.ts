import type { DuckDBConnection } from '@duckdb/node-api';
import { LAKE, sqlIdent, sqlString } from '../core/adapters/ducklake/attach.ts';
import { timeColumn } from '../core/adapters/ducklake/rollups.ts';
import { CATALOG_RACE } from '../core/adapters/ducklake/session.ts';
import { partitionGrain, storageTable, tableRef } from '../core/adapters/ducklake/tables.ts';
import { DATASETS, type Dataset, type Rollup } from '../core/datasets/index.ts';
import { messageOf } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';

/** How long maintenance keeps what readers may still use. */
export interface MaintenancePolicy {
  /**
   * Snapshots younger than this stay (time travel); older ones expire, but never one that was the
   * newest snapshot within `fileCleanupGraceMs` (a reader may still be using it).
   */
  snapshotRetentionMs: number;
  /** Files replaced by a merge, or written by a commit that failed, are deleted once older than this. */
  fileCleanupGraceMs: number;
  /** Rollup partials of periods that end after this time (epoch ms) are merged; 0: every period. */
  rollupsSinceMs: number;
  /** A partition (a day; a month or year of a coarse rollup) whose files hold less than this is rewritten into one file. Default 128 MiB. */
  targetFileBytes?: number;
}

/** How often a maintenance step is tried when it loses a race with a writer. */
const STEP_ATTEMPTS = 6;

/** The size below which a day's files are rewritten as one. */
export const DEFAULT_TARGET_FILE_BYTES = 128 * 1024 * 1024;

/** What one maintenance pass did, step by step. */
export interface MaintenanceReport {
  /** Rollup groups whose partials were merged into one row. */
  rollupGroupsMerged: number;
  /** Rows written out of the catalog into Parquet files. */
  inlinedRowsFlushed: number;
  /** Small files merged into larger ones (or rewritten without deleted rows). */
  filesMerged: number;
  snapshotsExpired: number;
  /** Files deleted: replaced, expired or orphaned. */
  filesDeleted: number;
  /** Steps that failed (another writer won a race, a store was down); the next pass does them. */
  failures: string[];
}

/**
 * The lake's maintenance, with DuckLake's own operations (plus one of ours), each its own
 * transaction, so readers of any engine that attach the catalog see every row once while it runs:
 *   merge rollup partials -> write inlined rows out -> rewrite each day's small files as one ->
 *   drop files whose rows are all deleted -> expire old snapshots -> delete files nothing needs
 *   (after a grace period).
 * DuckLake's `ducklake_merge_adjacent_files` is not used: while it committed, a reader in another
 * process that kept its DuckDB open saw a merged table empty for one query now and then (about
 * every other run of `tests/e2e/maintenance-reads.test.ts`, never without it). A day's files are
 * rewritten by a plain transaction instead (insert the day's rows, delete the old ones), which
 * readers see whole, and the emptied files are dropped by `ducklake_rewrite_data_files`.
 * The bus offsets tables are left alone (they stay inlined). A step that fails is reported and the
 * rest still run.
 */
export async function maintainLake(
  connection: DuckDBConnection,
  policy: MaintenancePolicy,
  log: Logger,
  datasets: readonly Dataset[] = DATASETS,
): Promise<MaintenanceReport> {
  const rollups = datasets.filter((dataset): dataset is Rollup => dataset.kind === 'rollup');
  const report: MaintenanceReport = {
    rollupGroupsMerged: 0,
    inlinedRowsFlushed: 0,
    filesMerged: 0,
    snapshotsExpired: 0,
    filesDeleted: 0,
    failures: [],
  };
  const step = async (name: string, work: () => Promise<void>) => {
    const started = Date.now();
    for (let attempt = 1; ; attempt += 1) {
      try {
        await work();
        log.debug({ step: name, startedAt: started, ms: Date.now() - started, attempt }, 'Maintenance step done');
        return;
      } catch (error) {
        await connection.run('ROLLBACK').catch(() => undefined);
        // A writer committed first (or holds the SQLite catalog for a moment): try again shortly.
        if (attempt < STEP_ATTEMPTS && CATALOG_RACE.test(messageOf(error))) {
          await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt * (0.5 + Math.random())));
          continue;
        }
        report.failures.push(`${name}: ${messageOf(error).split('\n')[0]}`);
        log.warn({ step: name, attempt, err: messageOf(error).split('\n')[0] }, 'A maintenance step failed; the next pass does it');
        return;
      }
    }
  };
  const rows = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();
  const retention = interval(policy.snapshotRetentionMs);
  const grace = interval(policy.fileCleanupGraceMs);
  for (const rollup of rollups) {
    await step(`merging the partials of ${rollup.name}`, async () => {
      report.rollupGroupsMerged += await mergePartials(connection, rollup, policy.rollupsSinceMs);
    });
  }
  await step('writing inlined rows out', async () => {
    const flushed = await rows(`SELECT * FROM ducklake_flush_inlined_data(${sqlString(LAKE)}, schema_name => 'main')`);
    report.inlinedRowsFlushed += flushed.reduce((sum, row) => sum + Number(row.rows_flushed ?? 0), 0);
  });
  for (const dataset of datasets) {
    await step(`compacting the small files of ${storageTable(dataset)}`, async () => {
      report.filesMerged += await compactSmallFiles(connection, dataset, policy.targetFileBytes ?? DEFAULT_TARGET_FILE_BYTES);
    });
  }
  await step('rewriting files with deleted rows', async () => {
    report.filesMerged += (await rows(`SELECT * FROM ducklake_rewrite_data_files(${sqlString(LAKE)})`)).length;
  });
  await step('expiring old snapshots', async () => {
    // A snapshot older than the retention may have been the newest a moment ago, and a reader may be
    // in the middle of it: keep every snapshot that was the newest within the grace period.
    const [edge] = await rows(
      `SELECT strftime(least(now() - ${retention}, max(snapshot_time)), '%Y-%m-%d %H:%M:%S.%f%z') AS before
         FROM ${LAKE}.snapshots() WHERE snapshot_time <= now() - ${grace}`,
    );
    if (typeof edge?.before !== 'string') return;
    report.snapshotsExpired += (
      await rows(`SELECT * FROM ducklake_expire_snapshots(${sqlString(LAKE)}, older_than => ${sqlString(edge.before)}::TIMESTAMPTZ)`)
    ).length;
  });
  await step('deleting replaced files', async () => {
    report.filesDeleted += (
      await rows(`SELECT * FROM ducklake_cleanup_old_files(${sqlString(LAKE)}, older_than => now() - ${grace})`)
    ).length;
  });
  await step('deleting orphaned files', async () => {
    if (await catalogInsideDataPath(connection)) return;
    report.filesDeleted += (
      await rows(`SELECT * FROM ducklake_delete_orphaned_files(${sqlString(LAKE)}, older_than => now() - ${grace})`)
    ).length;
  });
  return report;
}

/**
 * Merges each group's partials of a rollup into one row (periods that end after `sinceMs`: a scan
 * of every period would grow with the lake), in one transaction. The merge and the
 * delete read the same snapshot, and the delete takes only rows of that snapshot (row ids up to
 * its highest: rows inserted in the transaction get temporary ids above), so partials that
 * processors commit meanwhile stay, to be merged by the view and the next pass.
 */
async function mergePartials(connection: DuckDBConnection, rollup: Rollup, sinceMs: number): Promise<number> {
  const table = tableRef(storageTable(rollup));
  const group = [rollup.periodColumn, ...rollup.groupBy].map(sqlIdent).join(', ');
  const recent = `${sqlIdent(rollup.periodColumn)} > epoch_ms(${Math.max(0, Math.floor(sinceMs)) - rollup.periodMs}::BIGINT)`;
  await connection.run('BEGIN');
  await connection.run(`CALL ${LAKE}.set_commit_message('maintenance', ${sqlString(`merging the partials of ${rollup.name}`)})`);
  const [top] = (await connection.runAndReadAll(`SELECT max(rowid)::DOUBLE AS top FROM ${table}`)).getRowObjectsJS();
  const highest = Number(top?.top ?? -1);
  const split = `SELECT ${group} FROM ${table} WHERE rowid <= ${highest} AND ${recent} GROUP BY ${group} HAVING count(*) > 1`;
  const inserted = await connection.run(
    `INSERT INTO ${table} SELECT ${rollup.merge.join(', ')} FROM ${table}
      WHERE rowid <= ${highest} AND (${group}) IN (${split}) GROUP BY ${group}`,
  );
  if (inserted.rowsChanged === 0) {
    await connection.run('ROLLBACK');
    return 0;
  }
  await connection.run(`DELETE FROM ${table} WHERE rowid <= ${highest} AND (${group}) IN (${split})`);
  await connection.run('COMMIT');
  return inserted.rowsChanged;
}

/**
 * True when the lake's SQLite catalog is a file under its data path (the embedded lake:
 * `LAKE_DIR/lake.sqlite`). DuckLake's orphan sweep opens every file under the data path to read
 * its age, the catalog's database, log and shared-memory index included, and closing them drops
 * every SQLite lock this process holds on them (POSIX locks are per process): other processes'
 * SQLite then rebuilds the index under this one's readers (torn reads, a SIGBUS seen in
 * lake-query). Such a lake is not swept; orphans there come only from a write that died between
 * its files and its commit.
 */
async function catalogInsideDataPath(connection: DuckDBConnection): Promise<boolean> {
  const [where] = (
    await connection.runAndReadAll(
      `SELECT (SELECT path FROM duckdb_databases() WHERE database_name = ${sqlString(LAKE)}) AS catalog,
              (SELECT value FROM ${LAKE}.options() WHERE option_name = 'data_path' LIMIT 1) AS data`,
    )
  ).getRowObjectsJS();
  const catalog = String(where?.catalog ?? '');
  const data = String(where?.data ?? '');
  return catalog.startsWith('sqlite:') && data !== '' && !data.includes('://') && catalog.slice('sqlite:'.length).startsWith(data);
}

/** A DuckDB interval of whole milliseconds. */
function interval(ms: number): string {
  return `INTERVAL ${sqlString(`${Math.max(0, Math.round(ms))} milliseconds`)}`;
}

/**
 * Rewrites the files of each partition of a table (a day; a month or a year for a coarse rollup)
 * that holds more than one file and less than `targetBytes` (and more rows than the table's
 * inlining limit, or they would be inlined again) into one sorted file, in one transaction per
 * partition: the partition's rows are inserted again and the old ones deleted. Rows committed by
 * processors meanwhile have higher row ids and stay. Returns the number of files replaced.
 */
async function compactSmallFiles(connection: DuckDBConnection, dataset: Dataset, targetBytes: number): Promise<number> {
  const table = storageTable(dataset);
  const files = (
    await connection.runAndReadAll(
      `SELECT data_file, data_file_size_bytes::DOUBLE AS bytes FROM ducklake_list_files(${sqlString(LAKE)}, ${sqlString(table)}) WHERE delete_file IS NULL`,
    )
  ).getRowObjectsJS();
  const partitions = new Map<string, { files: number; bytes: number }>();
  for (const file of files) {
    const start = partitionStart(String(file.data_file));
    if (!start) continue;
    const entry = partitions.get(start) ?? { files: 0, bytes: 0 };
    partitions.set(start, { files: entry.files + 1, bytes: entry.bytes + Number(file.bytes) });
  }
  const ref = tableRef(table);
  const time = sqlIdent(timeColumn(dataset));
  const width = `INTERVAL 1 ${partitionGrain(dataset).toUpperCase()}`;
  const columns = dataset.columns.map(([name]) => sqlIdent(name)).join(', ');
  let replaced = 0;
  for (const [start, { files: count, bytes }] of [...partitions].sort()) {
    if (count < 2 || bytes >= targetBytes) continue;
    const within = `${time} >= TIMESTAMP '${start}' AND ${time} < TIMESTAMP '${start}' + ${width}`;
    // A partition of fewer rows than the inlining limit would go back into the catalog: leave its few files.
    const [size] = (await connection.runAndReadAll(`SELECT count(*)::DOUBLE AS n FROM ${ref} WHERE ${within}`)).getRowObjectsJS();
    if (Number(size?.n ?? 0) <= dataset.inlineRowLimit) continue;
    await connection.run('BEGIN');
    await connection.run(`CALL ${LAKE}.set_commit_message('maintenance', ${sqlString(`compacting ${table} of ${start}`)})`);
    const [top] = (await connection.runAndReadAll(`SELECT max(rowid)::DOUBLE AS top FROM ${ref} WHERE ${within}`)).getRowObjectsJS();
    const highest = Number(top?.top ?? -1);
    await connection.run(`INSERT INTO ${ref} (${columns}) SELECT ${columns} FROM ${ref} WHERE ${within} AND rowid <= ${highest}`);
    await connection.run(`DELETE FROM ${ref} WHERE ${within} AND rowid <= ${highest}`);
    await connection.run('COMMIT');
    replaced += count;
  }
  return replaced;
}

/** The first day of a data file's partition, from its folders: `.../year=2026/month=3/` -> `2026-03-01`. */
function partitionStart(path: string): string | undefined {
  const match = /\/year=(\d+)\/(?:month=(\d+)\/)?(?:day=(\d+)\/)?[^/]+$/.exec(path);
  if (!match) return undefined;
  return `${match[1]}-${(match[2] ?? '1').padStart(2, '0')}-${(match[3] ?? '1').padStart(2, '0')}`;
}

import type { DuckDBConnection } from '@duckdb/node-api';
import { LAKE, sqlIdent, sqlString } from '../core/adapters/ducklake/attach.ts';
import { storageTable, tableRef } from '../core/adapters/ducklake/tables.ts';
import { ROLLUPS, type Rollup } from '../core/datasets/index.ts';
import { messageOf } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';

/** How long maintenance keeps what readers may still use. */
export interface MaintenancePolicy {
  /** Snapshots younger than this stay (time travel); older ones expire. */
  snapshotRetentionMs: number;
  /** Files replaced by a merge, or written by a commit that failed, are deleted once older than this. */
  fileCleanupGraceMs: number;
  /** Rollup partials of periods from this time on (epoch ms) are merged; 0: every period. */
  rollupsSinceMs: number;
}

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
 *   merge rollup partials -> write inlined rows out -> rewrite files with deleted rows -> merge
 *   small files -> expire old snapshots -> delete files nothing needs (after a grace period).
 * The bus offsets tables are left alone (they stay inlined). A step that fails is reported and the
 * rest still run.
 */
export async function maintainLake(
  connection: DuckDBConnection,
  policy: MaintenancePolicy,
  log: Logger,
  rollups: readonly Rollup[] = ROLLUPS,
): Promise<MaintenanceReport> {
  const report: MaintenanceReport = {
    rollupGroupsMerged: 0,
    inlinedRowsFlushed: 0,
    filesMerged: 0,
    snapshotsExpired: 0,
    filesDeleted: 0,
    failures: [],
  };
  const step = async (name: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => undefined);
      report.failures.push(`${name}: ${messageOf(error).split('\n')[0]}`);
      log.warn({ step: name, err: messageOf(error).split('\n')[0] }, 'A maintenance step failed; the next pass does it');
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
  await step('rewriting files with deleted rows', async () => {
    report.filesMerged += (await rows(`SELECT * FROM ducklake_rewrite_data_files(${sqlString(LAKE)})`)).length;
  });
  await step('merging small files', async () => {
    report.filesMerged += (await rows(`SELECT * FROM ducklake_merge_adjacent_files(${sqlString(LAKE)})`)).length;
  });
  await step('expiring old snapshots', async () => {
    report.snapshotsExpired += (
      await rows(`SELECT * FROM ducklake_expire_snapshots(${sqlString(LAKE)}, older_than => now() - ${retention})`)
    ).length;
  });
  await step('deleting replaced files', async () => {
    report.filesDeleted += (
      await rows(`SELECT * FROM ducklake_cleanup_old_files(${sqlString(LAKE)}, older_than => now() - ${grace})`)
    ).length;
  });
  await step('deleting orphaned files', async () => {
    report.filesDeleted += (
      await rows(`SELECT * FROM ducklake_delete_orphaned_files(${sqlString(LAKE)}, older_than => now() - ${grace})`)
    ).length;
  });
  return report;
}

/**
 * Merges each group's partials of a rollup into one row (periods from `sinceMs` on: a scan of
 * every period would grow with the lake), in one transaction. The merge and the
 * delete read the same snapshot, and the delete takes only rows of that snapshot (row ids up to
 * its highest: rows inserted in the transaction get temporary ids above), so partials that
 * processors commit meanwhile stay, to be merged by the view and the next pass.
 */
async function mergePartials(connection: DuckDBConnection, rollup: Rollup, sinceMs: number): Promise<number> {
  const table = tableRef(storageTable(rollup));
  const group = [rollup.periodColumn, ...rollup.groupBy].map(sqlIdent).join(', ');
  const recent = `${sqlIdent(rollup.periodColumn)} >= epoch_ms(${Math.max(0, Math.floor(sinceMs))}::BIGINT)`;
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

/** A DuckDB interval of whole milliseconds. */
function interval(ms: number): string {
  return `INTERVAL ${sqlString(`${Math.max(0, Math.round(ms))} milliseconds`)}`;
}

import type { DuckDBConnection } from '@duckdb/node-api';
import { LAKE, sqlIdent, sqlString } from '../core/adapters/ducklake/attach.ts';
import { advanceStatements, partitionKey } from '../core/adapters/ducklake/offsets.ts';
import { rollupStatements } from '../core/adapters/ducklake/rollups.ts';
import { tableRef } from '../core/adapters/ducklake/tables.ts';
import type { IngestedDataset } from '../core/datasets/index.ts';
import { LakeError, messageOf } from '../core/errors.ts';
import type { TopicPartition } from '../core/ports/bus.ts';
import type { PartitionRange } from './flush-window.ts';
import type { StagedDataset } from './staging.ts';

/** What a commit wrote of one dataset: rows inserted, and rows dropped as already in the lake (or twice in the flush). */
export interface DatasetWrite {
  dataset: string;
  rows: number;
  duplicates: number;
}

/** The outcome of one commit: written, or refused because another writer moved these partitions. */
export type CommitOutcome = { ok: true; writes: DatasetWrite[] } | { ok: false; fenced: TopicPartition[] };

/** Who commits, for the snapshot's author and message (`SELECT * FROM lake.snapshots()` shows them). */
export interface CommitAuthor {
  author: string;
  /** What the commit holds; default: the bus ranges. */
  message?: string;
}

/**
 * The commit step: one DuckLake transaction holds the flush's new rows of every dataset, the
 * rollup partials of those rows, the dead letters, and the next offset of every bus partition the
 * flush covers. The offsets are fenced: a partition moves only if the lake still holds the offset
 * the flush started from, so a late or zombie writer can never add a batch twice; a fenced commit
 * is rolled back whole and names the partitions that moved. Before the transaction each dataset
 * with a key drops the rows the lake already holds (in the flush's time range) and repeats within
 * the flush, so every key is in the lake once and the rollups count each record once.
 */
export async function commitFlush(
  connection: DuckDBConnection,
  ranges: readonly PartitionRange[],
  staged: readonly StagedDataset[],
  author: CommitAuthor,
  /** More statements for the same transaction (the import records the files it read). */
  also: readonly string[] = [],
): Promise<CommitOutcome> {
  const fresh = [];
  for (const part of staged) fresh.push(await dedupe(connection, part));
  const statements: { sql: string; fenced?: TopicPartition }[] = [
    {
      sql: `CALL ${LAKE}.set_commit_message(${sqlString(author.author)}, ${sqlString(author.message ?? describeRanges(ranges))})`,
    },
  ];
  // Each rollup of the new rows: the 1-minute partials from the rows, coarser grains from those.
  const rollups = fresh.map(({ dataset, table }) => rollupStatements(dataset, validRows(dataset, table)));
  for (const [index, { dataset, table }] of fresh.entries()) {
    const columns = dataset.columns.map(([name]) => sqlIdent(name)).join(', ');
    const rows = validRows(dataset, table);
    statements.push({ sql: `INSERT INTO ${tableRef(dataset.name)} (${columns}) SELECT ${columns} FROM ${rows}` });
    for (const sql of rollups[index]!.inserts) statements.push({ sql });
  }
  for (const sql of also) statements.push({ sql });
  for (const range of ranges) {
    for (const step of advanceStatements(range.tp, range.from, range.to)) {
      statements.push({ sql: step.sql, ...(step.fenced ? { fenced: range.tp } : {}) });
    }
  }
  const fenced: TopicPartition[] = [];
  try {
    for (const sql of rollups.flatMap((rollup) => rollup.prepare)) await connection.run(sql);
    await connection.run('BEGIN');
    for (const statement of statements) {
      try {
        const result = await connection.run(statement.sql);
        if (statement.fenced && result.rowsChanged !== 1) fenced.push(statement.fenced);
      } catch (error) {
        // A first commit of a partition whose offsets table exists: another writer committed it first.
        const tp = ranges.find((range) => range.from === undefined && statement.sql.includes(sqlIdent(partitionKey(range.tp))))?.tp;
        if (tp && /already exists/i.test(messageOf(error))) {
          fenced.push(tp);
          break;
        }
        throw error;
      }
    }
    if (fenced.length > 0) {
      await connection.run('ROLLBACK');
      return { ok: false, fenced };
    }
    await connection.run('COMMIT');
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw new LakeError('STORE_WRITE_FAILED', `committing ${describeRanges(ranges)} to the lake: ${firstLine(error)}`, {
      cause: error,
      retryable: true,
    });
  } finally {
    // The staged tables stay for the stager to drop (a retried write stages again).
    for (const sql of rollups.flatMap((rollup) => rollup.cleanup)) await connection.run(sql).catch(() => undefined);
  }
  return { ok: true, writes: fresh.map(({ dataset, rows, duplicates }) => ({ dataset: dataset.name, rows, duplicates })) };
}

interface Fresh {
  dataset: IngestedDataset;
  /** The staged table, whose valid rows (`WHERE _valid`) are the ones to write. */
  table: string;
  rows: number;
  duplicates: number;
}

/**
 * Leaves in the staged table only what the lake does not hold yet, each key once (its first
 * arrival): later arrivals of a key and keys the lake already holds are deleted from it. The lake
 * is searched only within the flush's time range, which the catalog's file statistics and
 * partitions narrow to a few files. No copy of the rows is made, and DuckLake sorts them by the
 * table's sort order as it writes them.
 */
async function dedupe(connection: DuckDBConnection, part: StagedDataset): Promise<Fresh> {
  const { dataset, table } = part;
  if (!dataset.key) return { dataset, table, rows: part.rows, duplicates: 0 };
  const key = sqlIdent(dataset.key);
  const time = sqlIdent(dataset.eventTime);
  const stats = (
    await connection.runAndReadAll(
      `SELECT min(${time})::VARCHAR AS lo, max(${time})::VARCHAR AS hi, count(*)::DOUBLE AS n, count(DISTINCT ${key})::DOUBLE AS keys
         FROM ${table} WHERE _valid`,
    )
  ).getRowObjectsJS()[0]!;
  let duplicates = 0;
  if (Number(stats.keys) < Number(stats.n)) {
    const repeated = await connection.run(
      `DELETE FROM ${table} WHERE _valid AND _order IN (
         SELECT _order FROM ${table} WHERE _valid QUALIFY row_number() OVER (PARTITION BY ${key} ORDER BY _order) > 1)`,
    );
    duplicates += repeated.rowsChanged;
  }
  if (stats.lo !== null) {
    const held = await connection.run(
      `DELETE FROM ${table} AS s WHERE _valid AND EXISTS (
         SELECT 1 FROM ${tableRef(dataset.name)} AS t
          WHERE t.${time} >= ${sqlString(String(stats.lo))}::TIMESTAMP AND t.${time} <= ${sqlString(String(stats.hi))}::TIMESTAMP
            AND t.${key} = s.${key})`,
    );
    duplicates += held.rowsChanged;
  }
  return { dataset, table, rows: part.rows - duplicates, duplicates };
}

/** The valid rows of a staged table, in the dataset's columns (dead letters and rejects carry `_valid` false). */
function validRows(dataset: IngestedDataset, table: string): string {
  return `(SELECT ${dataset.columns.map(([name]) => sqlIdent(name)).join(', ')} FROM ${table} WHERE _valid)`;
}

/** `prices/0 120-340, trades/2 7-9`: the ranges of a flush, for logs and snapshot messages. */
export function describeRanges(ranges: readonly PartitionRange[]): string {
  return ranges.map((range) => `${partitionKey(range.tp)} ${range.from ?? 'start'}-${range.to - 1}`).join(', ');
}

function firstLine(error: unknown): string {
  return messageOf(error).split('\n')[0]!;
}

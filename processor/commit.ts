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
  const rollups = fresh.map(({ dataset, table }) => rollupStatements(dataset, table));
  for (const [index, { dataset, table }] of fresh.entries()) {
    const columns = dataset.columns.map(([name]) => sqlIdent(name)).join(', ');
    statements.push({ sql: `INSERT INTO ${tableRef(dataset.name)} (${columns}) SELECT ${columns} FROM ${table}` });
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
    for (const { table } of fresh) await connection.run(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    for (const sql of rollups.flatMap((rollup) => rollup.cleanup)) await connection.run(sql).catch(() => undefined);
  }
  return { ok: true, writes: fresh.map(({ dataset, rows, duplicates }) => ({ dataset: dataset.name, rows, duplicates })) };
}

interface Fresh {
  dataset: IngestedDataset;
  table: string;
  rows: number;
  duplicates: number;
}

/**
 * The staged rows the lake does not hold yet, each key once (its first arrival), in a table of
 * the in-memory database. The lake is searched only within the flush's time range, which the
 * catalog's file statistics and partitions narrow to a few files.
 */
async function dedupe(connection: DuckDBConnection, part: StagedDataset): Promise<Fresh> {
  const { dataset } = part;
  const table = `memory.${sqlIdent(`new_${dataset.name}`)}`;
  const columns = dataset.columns.map(([name]) => sqlIdent(name)).join(', ');
  const sortBy = dataset.sortBy.map(sqlIdent).join(', ');
  if (!dataset.key) {
    await connection.run(`CREATE OR REPLACE TABLE ${table} AS SELECT ${columns} FROM ${part.table} ORDER BY ${sortBy}`);
    await connection.run(`DROP TABLE ${part.table}`);
    return { dataset, table, rows: part.rows, duplicates: 0 };
  }
  const key = sqlIdent(dataset.key);
  const time = sqlIdent(dataset.eventTime);
  const range = (
    await connection.runAndReadAll(`SELECT min(${time})::VARCHAR AS lo, max(${time})::VARCHAR AS hi FROM ${part.table}`)
  ).getRowObjectsJS()[0]!;
  await connection.run(
    `CREATE OR REPLACE TABLE ${table} AS
       SELECT ${columns} FROM ${part.table} AS s
        WHERE NOT EXISTS (SELECT 1 FROM ${tableRef(dataset.name)} AS t
                           WHERE t.${time} >= ${sqlString(String(range.lo))}::TIMESTAMP AND t.${time} <= ${sqlString(String(range.hi))}::TIMESTAMP
                             AND t.${key} = s.${key})
      QUALIFY row_number() OVER (PARTITION BY s.${key} ORDER BY s._order) = 1
        ORDER BY ${sortBy}`,
  );
  await connection.run(`DROP TABLE ${part.table}`);
  const rows = Number((await connection.runAndReadAll(`SELECT count(*)::DOUBLE AS n FROM ${table}`)).getRowObjectsJS()[0]!.n);
  return { dataset, table, rows, duplicates: part.rows - rows };
}

/** `prices/0 120-340, trades/2 7-9`: the ranges of a flush, for logs and snapshot messages. */
export function describeRanges(ranges: readonly PartitionRange[]): string {
  return ranges.map((range) => `${partitionKey(range.tp)} ${range.from ?? 'start'}-${range.to - 1}`).join(', ');
}

function firstLine(error: unknown): string {
  return messageOf(error).split('\n')[0]!;
}

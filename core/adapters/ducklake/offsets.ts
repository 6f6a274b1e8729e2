import type { DuckDBConnection } from '@duckdb/node-api';
import type { TopicPartition } from '../../ports/bus.ts';
import { LAKE, sqlString } from './attach.ts';
import { OFFSETS_SCHEMA, tableRef } from './tables.ts';

/**
 * What the lake holds of each bus partition: the next offset to read, committed in the same
 * transaction as the rows of the batch that ended before it. One table per topic partition,
 * `lake.bus_offsets."<topic>/<partition>"`, with one row: DuckLake detects conflicting updates
 * per table, so writers of different partitions never conflict, while two writers of one
 * partition (a late or zombie one) always do. The tables stay inlined in the catalog (no data
 * files) and are left out of maintenance.
 */

/** `prices/0`: the key of a topic partition, and its offsets table's name. */
export function partitionKey(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}

/** The offsets table of a topic partition, as SQL. */
export function offsetsTable(tp: TopicPartition): string {
  return tableRef(partitionKey(tp), OFFSETS_SCHEMA);
}

/** The next offsets the lake holds for these partitions (key `topic/partition`); partitions never committed are absent. */
export async function readOffsets(connection: DuckDBConnection, partitions: readonly TopicPartition[]): Promise<Map<string, number>> {
  const names = await connection.runAndReadAll(
    `SELECT table_name FROM duckdb_tables() WHERE database_name = ${sqlString(LAKE)} AND schema_name = ${sqlString(OFFSETS_SCHEMA)}`,
  );
  const existing = new Set(names.getRowObjectsJS().map((row) => String(row.table_name)));
  const offsets = new Map<string, number>();
  for (const tp of partitions) {
    if (!existing.has(partitionKey(tp))) continue;
    const reader = await connection.runAndReadAll(`SELECT max(next_offset)::DOUBLE AS next FROM ${offsetsTable(tp)}`);
    const next = reader.getRowObjectsJS()[0]?.next;
    if (typeof next === 'number') offsets.set(partitionKey(tp), next);
  }
  return offsets;
}

/**
 * The statements that move a partition from `from` to `to` inside the commit's transaction: the
 * first commit of a partition creates its table (two first commits conflict); later ones update
 * its row only where it still holds `from`, so the caller must check that exactly one row changed.
 */
export function advanceStatements(tp: TopicPartition, from: number | undefined, to: number): { sql: string; fenced: boolean }[] {
  const table = offsetsTable(tp);
  if (from === undefined) {
    return [
      { sql: `CREATE TABLE ${table} (next_offset BIGINT, committed_at TIMESTAMP)`, fenced: false },
      { sql: `INSERT INTO ${table} VALUES (${to}, now()::TIMESTAMP)`, fenced: false },
    ];
  }
  return [{ sql: `UPDATE ${table} SET next_offset = ${to}, committed_at = now()::TIMESTAMP WHERE next_offset = ${from}`, fenced: true }];
}

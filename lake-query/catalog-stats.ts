import { sqlIdent, sqlString } from '../core/adapters/ducklake/attach.ts';
import type { LakeLocation } from '../core/adapters/select.ts';
import type { Row } from './lake.ts';

/** Where DuckLake's own tables are: the catalog database DuckDB attaches beside `lake`, and its schema. */
export interface CatalogRef {
  /** `"__ducklake_metadata_lake"."main"` (SQLite) or `..."cryptolake"` (PostgreSQL's METADATA_SCHEMA). */
  metadata: string;
}

/** The catalog tables of an attached lake. */
export function catalogRef(lake: LakeLocation): CatalogRef {
  const schema = lake.catalog.kind === 'postgres' ? lake.catalog.schema : 'main';
  return { metadata: `${sqlIdent('__ducklake_metadata_lake')}.${sqlIdent(schema)}` };
}

/** What reads the catalog: a query runner and where the catalog is. */
export interface CatalogReader {
  query(what: string, sql: string): Promise<Row[]>;
  catalog: CatalogRef;
}

/**
 * Files, rows and bytes of each UTC day of a table, from the catalog alone (no data file is
 * opened): the current data files by their partition values, plus rows still inlined in the
 * catalog, counted by their day as files of their own (0 files, 0 bytes). Newest day first.
 */
export async function partitionStats(reader: CatalogReader, table: string, timeColumn: string): Promise<Row[]> {
  const m = reader.catalog.metadata;
  const tableId = `(SELECT t.table_id FROM ${m}.ducklake_table t JOIN ${m}.ducklake_schema s USING (schema_id)
                     WHERE t.table_name = ${sqlString(table)} AND s.schema_name = 'main' AND t.end_snapshot IS NULL AND s.end_snapshot IS NULL)`;
  const inlined = await reader.query(
    'the inlined data of a table',
    `SELECT table_name FROM ${m}.ducklake_inlined_data_tables WHERE table_id = ${tableId}`,
  );
  const time = sqlIdent(timeColumn);
  const inlinedDays = inlined.map(
    (row) =>
      `SELECT year(${time}::TIMESTAMP) AS year, month(${time}::TIMESTAMP) AS month, day(${time}::TIMESTAMP) AS day, 0 AS files, count(*) AS rows, 0 AS bytes
         FROM ${m}.${sqlIdent(String(row.table_name))} WHERE end_snapshot IS NULL GROUP BY ALL`,
  );
  const fileDays = `SELECT year, month, day, count(*) AS files, sum(record_count) AS rows, sum(file_size_bytes) AS bytes
       FROM (SELECT f.data_file_id, any_value(f.record_count) AS record_count, any_value(f.file_size_bytes) AS file_size_bytes,
                    max(v.partition_value) FILTER (WHERE v.partition_key_index = 0)::INTEGER AS year,
                    max(v.partition_value) FILTER (WHERE v.partition_key_index = 1)::INTEGER AS month,
                    max(v.partition_value) FILTER (WHERE v.partition_key_index = 2)::INTEGER AS day
               FROM ${m}.ducklake_data_file f JOIN ${m}.ducklake_file_partition_value v USING (data_file_id)
              WHERE f.table_id = ${tableId} AND f.end_snapshot IS NULL
              GROUP BY f.data_file_id)
      GROUP BY ALL`;
  return reader.query(
    `the partitions of ${table}`,
    `SELECT year, month, day, sum(files)::INTEGER AS files, sum(rows)::DOUBLE AS rows, sum(bytes)::DOUBLE AS bytes
       FROM (${[fileDays, ...inlinedDays].join(' UNION ALL ')})
      GROUP BY ALL
      ORDER BY year DESC, month DESC, day DESC`,
  );
}

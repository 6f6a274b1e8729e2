import type { DuckDBConnection } from '@duckdb/node-api';
import { DATASETS, type Dataset, type Rollup } from '../../datasets/index.ts';
import { partialsTable } from '../../datasets/dataset.ts';
import { LakeError, messageOf } from '../../errors.ts';
import { LAKE, sqlIdent, sqlString } from './attach.ts';

/** The schema of the bus offsets tables (one table per topic partition, see `offsets.ts`). */
export const OFFSETS_SCHEMA = 'bus_offsets';

/** `lake.main."prices"`: a dataset table (a rollup's partials table) as SQL. */
export function tableRef(name: string, schema = 'main'): string {
  return `${LAKE}.${sqlIdent(schema)}.${sqlIdent(name)}`;
}

/** The table that stores a dataset's rows: its own, or a rollup's partials. */
export function storageTable(dataset: Dataset): string {
  return dataset.kind === 'rollup' ? partialsTable(dataset) : dataset.name;
}

/** The table statements of one dataset, run once when it is created. */
function createStatements(dataset: Dataset): string[] {
  const table = storageTable(dataset);
  const ref = tableRef(table);
  const time = dataset.kind === 'rollup' ? dataset.periodColumn : dataset.eventTime;
  const statements = [
    `CREATE TABLE ${ref} (${dataset.columns.map(([name, type]) => `${sqlIdent(name)} ${type}`).join(', ')})`,
    `ALTER TABLE ${ref} SET PARTITIONED BY (year(${sqlIdent(time)}), month(${sqlIdent(time)}), day(${sqlIdent(time)}))`,
    `ALTER TABLE ${ref} SET SORTED BY (${dataset.sortBy.map(sqlIdent).join(', ')})`,
  ];
  if (dataset.kind === 'rollup') statements.push(rollupView(dataset));
  return statements;
}

/** The view of a rollup: one row per group and period, its partials merged. */
export function rollupView(rollup: Rollup): string {
  const groupBy = [rollup.periodColumn, ...rollup.groupBy].map(sqlIdent).join(', ');
  return (
    `CREATE OR REPLACE VIEW ${tableRef(rollup.name)} AS ` +
    `SELECT ${rollup.merge.join(', ')} FROM ${sqlIdent(partialsTable(rollup))} GROUP BY ${groupBy}`
  );
}

/**
 * Makes the catalog hold every dataset's table as declared: creates what is missing (partitioned
 * by the event day, sorted, with its inlining limit; a rollup with its partials table and merged
 * view) and adds columns a declaration gained. Safe to run from several processes at once: a
 * creation that loses a race is retried and then finds the table. The lake-wide options (Snappy)
 * are set once, when the lake is new.
 */
export async function ensureLakeTables(connection: DuckDBConnection, datasets: readonly Dataset[] = DATASETS): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await ensureOnce(connection, datasets);
      return;
    } catch (error) {
      await connection.run('ROLLBACK').catch(() => undefined);
      if (attempt >= 5) {
        throw new LakeError('STORE_WRITE_FAILED', `creating the lake's tables: ${messageOf(error).split('\n')[0]}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt + Math.random() * 200));
    }
  }
}

async function ensureOnce(connection: DuckDBConnection, datasets: readonly Dataset[]): Promise<void> {
  const existing = await tableColumns(connection);
  const statements: string[] = [];
  const created: Dataset[] = [];
  if (existing.size === 0) statements.push(`CREATE SCHEMA IF NOT EXISTS ${LAKE}.${OFFSETS_SCHEMA}`);
  for (const dataset of datasets) {
    const columns = existing.get(storageTable(dataset));
    if (!columns) {
      statements.push(...createStatements(dataset));
      created.push(dataset);
      continue;
    }
    for (const [name, type] of dataset.columns) {
      if (!columns.has(name)) statements.push(`ALTER TABLE ${tableRef(storageTable(dataset))} ADD COLUMN ${sqlIdent(name)} ${type}`);
    }
  }
  if (statements.length > 0) await transaction(connection, statements);
  // Options cannot be set on a table in the transaction that creates it: a second transaction sets
  // those of the new tables, and the lake-wide ones (Snappy; offsets tables out of maintenance)
  // while they are missing. A table's options are set only when it is created, so an operator's
  // later `set_option` stays.
  const lakeWide = await connection.runAndReadAll(
    `SELECT count(*)::INTEGER AS n FROM ${LAKE}.options() WHERE option_name = 'auto_compact' AND scope_entry = ${sqlString(OFFSETS_SCHEMA)}`,
  );
  const options = [
    ...(Number(lakeWide.getRowObjectsJS()[0]?.n) === 0
      ? [
          `CALL ${LAKE}.set_option('parquet_compression', 'snappy')`,
          `CALL ${LAKE}.set_option('auto_compact', false, schema => ${sqlString(OFFSETS_SCHEMA)})`,
        ]
      : []),
    ...created.map(
      (dataset) =>
        `CALL ${LAKE}.set_option('data_inlining_row_limit', ${dataset.inlineRowLimit}, table_name => ${sqlString(storageTable(dataset))})`,
    ),
  ];
  if (options.length > 0) await transaction(connection, options);
}

async function transaction(connection: DuckDBConnection, statements: readonly string[]): Promise<void> {
  await connection.run('BEGIN');
  for (const statement of statements) await connection.run(statement);
  await connection.run('COMMIT');
}

/** The columns of every table of the lake's `main` schema. */
async function tableColumns(connection: DuckDBConnection): Promise<Map<string, Set<string>>> {
  const reader = await connection.runAndReadAll(
    `SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ${sqlString(LAKE)} AND schema_name = 'main'`,
  );
  const tables = new Map<string, Set<string>>();
  for (const row of reader.getRowObjectsJS()) {
    const name = String(row.table_name);
    if (!tables.has(name)) tables.set(name, new Set());
    tables.get(name)!.add(String(row.column_name));
  }
  return tables;
}

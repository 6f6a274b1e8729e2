import type { DuckDBConnection } from '@duckdb/node-api';
import { DATASETS, type Dataset, type PartitionGrain, type Rollup } from '../../datasets/index.ts';
import { partialsTable } from '../../datasets/dataset.ts';
import { LakeError, messageOf } from '../../errors.ts';
import { LAKE, sqlIdent, sqlString } from './attach.ts';
import { rollupSelect, timeColumn } from './rollups.ts';

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

/** How finely a dataset's table is partitioned: by UTC day, except coarse rollups (month, year). */
export function partitionGrain(dataset: Dataset): PartitionGrain {
  return dataset.kind === 'rollup' ? dataset.partitionBy : 'day';
}

/** The partition functions of a grain, in folder order: `year=/month=/day=`. */
export const PARTITION_PARTS: Record<PartitionGrain, readonly ('year' | 'month' | 'day')[]> = {
  day: ['year', 'month', 'day'],
  month: ['year', 'month'],
  year: ['year'],
};

/**
 * The table statements of one dataset, run once when it is created. A rollup fed by a finer one
 * is filled from the finer partials already in the lake (a lake that had the finer rollup before
 * this one was declared), in the same transaction, so its rows never miss a period.
 */
function createStatements(dataset: Dataset): string[] {
  const table = storageTable(dataset);
  const ref = tableRef(table);
  const time = sqlIdent(timeColumn(dataset));
  const statements = [
    `CREATE TABLE ${ref} (${dataset.columns.map(([name, type]) => `${sqlIdent(name)} ${type}`).join(', ')})`,
    `ALTER TABLE ${ref} SET PARTITIONED BY (${PARTITION_PARTS[partitionGrain(dataset)].map((part) => `${part}(${time})`).join(', ')})`,
    `ALTER TABLE ${ref} SET SORTED BY (${dataset.sortBy.map(sqlIdent).join(', ')})`,
  ];
  if (dataset.kind === 'rollup') {
    const source = DATASETS.find((candidate) => candidate.name === dataset.from);
    if (source?.kind === 'rollup') {
      const columns = dataset.columns.map(([name]) => sqlIdent(name)).join(', ');
      statements.push(`INSERT INTO ${ref} (${columns}) ${rollupSelect(dataset, tableRef(storageTable(source)))}`);
    }
    statements.push(rollupView(dataset));
  }
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
 * by the event day, or a coarse rollup by month or year, sorted, with its inlining limit; a rollup
 * with its partials table and merged view, a coarser rollup filled from its finer one) and adds
 * columns a declaration gained (a rollup's view is made again with them). Safe to run from several processes at once: a
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
    const added = dataset.columns.filter(([name]) => !columns.has(name));
    for (const [name, type] of added)
      statements.push(`ALTER TABLE ${tableRef(storageTable(dataset))} ADD COLUMN ${sqlIdent(name)} ${type}`);
    // The view merges every column: it changes with them.
    if (added.length > 0 && dataset.kind === 'rollup') statements.push(rollupView(dataset));
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

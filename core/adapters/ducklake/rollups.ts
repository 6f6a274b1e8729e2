import { rollupsOf, sourceOf, type Dataset, type IngestedDataset, type Rollup } from '../../datasets/index.ts';
import { sqlIdent } from './attach.ts';
import { storageTable, tableRef } from './tables.ts';

/** The time column of a dataset (its event time) or of a rollup (its period's start). */
export function timeColumn(dataset: Dataset): string {
  return dataset.kind === 'rollup' ? dataset.periodColumn : dataset.eventTime;
}

/**
 * The SELECT of a rollup's partials from the rows of what it summarises (a dataset's rows, or a
 * finer rollup's partials) held in `sourceTable`: one partial per group and period.
 */
export function rollupSelect(rollup: Rollup, sourceTable: string): string {
  const period = `time_bucket(INTERVAL '${rollup.period}', ${sqlIdent(timeColumn(sourceOf(rollup)))})`;
  const select = rollup.derive.map((item) => item.replaceAll('$period', period)).join(', ');
  const groupBy = ['1', ...rollup.groupBy.map(sqlIdent)].join(', ');
  return `SELECT ${select} FROM ${sourceTable} GROUP BY ${groupBy}`;
}

/** What a commit runs to write the rollups of one dataset's new rows (see `rollupStatements`). */
export interface RollupStatements {
  /** Before the transaction: the partials of each rollup that feeds a coarser one, into the in-memory database. */
  prepare: string[];
  /** Inside the transaction: one insert per rollup. */
  inserts: string[];
  /** After it: drop what `prepare` made. */
  cleanup: string[];
}

/**
 * The statements that write every rollup of a dataset's new rows (in `rowsTable`): the rollups
 * fed by the dataset read the rows once; a rollup that feeds coarser ones keeps its partials in a
 * table of the in-memory database (made before the transaction: DuckDB writes one database per
 * transaction), and each coarser rollup merges those partials, a group-by over the few hundred
 * partial rows of the commit, never the rows again. So a commit's cost per record does not grow
 * with the number of grains.
 */
export function rollupStatements(dataset: IngestedDataset, rowsTable: string): RollupStatements {
  const statements: RollupStatements = { prepare: [], inserts: [], cleanup: [] };
  const write = (rollup: Rollup, sourceTable: string) => {
    const columns = rollup.columns.map(([name]) => sqlIdent(name)).join(', ');
    const target = `${tableRef(storageTable(rollup))} (${columns})`;
    const coarser = rollupsOf(rollup);
    if (coarser.length === 0) {
      statements.inserts.push(`INSERT INTO ${target} ${rollupSelect(rollup, sourceTable)}`);
      return;
    }
    const kept = `memory.${sqlIdent(`partials_${rollup.name}`)}`;
    statements.prepare.push(`CREATE OR REPLACE TABLE ${kept} AS ${rollupSelect(rollup, sourceTable)}`);
    statements.inserts.push(`INSERT INTO ${target} SELECT ${columns} FROM ${kept}`);
    statements.cleanup.push(`DROP TABLE IF EXISTS ${kept}`);
    for (const next of coarser) write(next, kept);
  };
  for (const rollup of rollupsOf(dataset)) write(rollup, rowsTable);
  return statements;
}

import type { z } from 'zod';
import { recordValidator, type Validated } from '../records/validator.ts';
import type { TopicKey } from '../records/topics.ts';

/**
 * The declaration of a lake dataset: one table of the DuckLake catalog, what feeds it and how it
 * is laid out. Every part derives from these declarations: the processor's subscriptions and
 * commits, the catalog's tables (`core/adapters/ducklake/tables.ts`), lake-query's queries and
 * the OpenAPI document. Adding a dataset means adding its declaration to `core/datasets/index.ts`.
 */

/** The DuckDB types a lake column can have. Times are `TIMESTAMP` in microseconds, UTC by convention. */
export type ColumnType = 'VARCHAR' | 'DOUBLE' | 'TIMESTAMP' | 'BIGINT';

/** `[name, type]` of one column, in table order. */
export type ColumnSpec<Name extends string = string> = readonly [name: Name, type: ColumnType];

/** A table fed by one bus topic: each message is one JSON record of `record`. Without `Row`: any dataset. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface IngestedDataset<Row = any> {
  kind: 'ingested';
  /** The table's name in the catalog, e.g. `prices`. */
  name: string;
  /** One line for people: what a row is. */
  summary: string;
  /** Which of the configurable topics feeds it. */
  topic: TopicKey;
  /** The contract of one message: the zod schema the scraper validates with too. */
  record: z.ZodType<Row>;
  /** `record`, then the key made of `keyFrom` (see `recordValidator`); never throws. Made by `ingested`. */
  validate(input: unknown): Validated<Row>;
  /** Columns in table order, with their DuckDB types; a `TIMESTAMP` is epoch ms in the record. */
  columns: readonly ColumnSpec<keyof Row & string>[];
  /** The event time: the table is partitioned by its UTC year, month and day. */
  eventTime: keyof Row & string;
  /** Sort order inside a data file: readers skip row groups of other symbols or markets. */
  sortBy: readonly string[];
  /**
   * The column that identifies a record. A record whose key the lake already holds (or that came
   * twice in one commit) is dropped in the commit that would write it, so every key is in the
   * table once. Unset: every message is a row (dead letters).
   */
  key?: keyof Row & string;
  /** The fields the key is made of, joined by `:` (the record's id rule, which `validate` checks too). */
  keyFrom?: readonly (keyof Row & string)[];
  /** Data inlining: commits of at most this many rows go to the catalog instead of a Parquet file. */
  inlineRowLimit: number;
}

/**
 * The inlining limit of the high-volume tables (prices, trades and their rollups): a commit of at
 * most this many rows of one table goes into the catalog, a bigger one to a Parquet file. DuckLake
 * 1.0 inlines row by row: measured here (one flush of prices and its three rollup partials, 2
 * cores), inlining cost 0.5 s for 300 rows a table and 1.4-1.9 s for 1,000 on SQLite and on
 * PostgreSQL, a file each 0.15-0.2 s at any of those sizes. Above ~100 rows a file is cheaper;
 * below, inlining saves a file per flush for the same time. The low-volume tables (alerts, gaps,
 * dead letters) keep a high limit: their commits are a few rows.
 */
export const HOT_INLINE_ROW_LIMIT = 100;

/** How finely a table is partitioned by its time column: UTC day (`year=/month=/day=` folders), month or year. */
export type PartitionGrain = 'day' | 'month' | 'year';

/**
 * A rollup: partial aggregates of a source dataset's rows, per group and period, inserted in the
 * same commit as the rows they summarise. Partials of one group merge exactly (`merge`), so the
 * view of the same name shows one row per group; maintenance merges the stored partials too.
 * A coarser rollup (hours, days) is fed by a finer one: in the same commit, from the commit's new
 * finer partials (a group-by over a few hundred rows), never from the rows again.
 */
export interface Rollup {
  kind: 'rollup';
  /** The view readers query, e.g. `candles_1m`; the partials are in the table `<name>_partials`. */
  name: string;
  summary: string;
  /** What it summarises: a dataset's new rows, or the new partials of a finer rollup (its name). */
  from: string;
  /** The width of a period, as a DuckDB interval, e.g. `1 minute`. */
  period: string;
  /** The width of a period in ms: periods start at whole multiples of it since the epoch (UTC). */
  periodMs: number;
  /** The period column (the period's start, a TIMESTAMP): partitions the table by its UTC `partitionBy`. */
  periodColumn: string;
  /** Partition folders by UTC day, month or year of the period: coarse rollups hold few rows a day. */
  partitionBy: PartitionGrain;
  /** The group columns besides the period. */
  groupBy: readonly string[];
  /** Columns of the partials table, in order (the view has the same). */
  columns: readonly ColumnSpec[];
  /**
   * The select list of one partial from the source rows (or finer partials) of a group and period
   * (the FROM and GROUP BY are the writer's); `$period` stands for the period's start expression.
   */
  derive: readonly string[];
  /** The select list that merges partials of one group and period into one (the GROUP BY is the caller's). */
  merge: readonly string[];
  sortBy: readonly string[];
  inlineRowLimit: number;
}

/**
 * The aggregates of `rollup`'s merge that yield the columns `names`, by name (`close`:
 * `arg_max(close, close_ts)`): what a query that merges partials itself reads from the declaration.
 */
export function mergeRule<Name extends string>(rollup: Rollup, names: readonly Name[]): Record<Name, string> {
  const rule = {} as Record<Name, string>;
  for (const name of names) {
    const suffix = ` AS ${name}`;
    const item = rollup.merge.find((entry) => entry.endsWith(suffix));
    if (!item) throw new Error(`${rollup.name} merges no column ${name}`);
    rule[name] = item.slice(0, -suffix.length);
  }
  return rule;
}

/** A select list (`aggregate AS name, ...`) of `rule`: every column, or those named. */
export function aggregates<Rule extends Record<string, string>>(rule: Rule, names?: readonly (keyof Rule & string)[]): string {
  return (names ?? Object.keys(rule)).map((name) => `${rule[name]} AS ${name}`).join(', ');
}

/**
 * A coarser rollup fed by `finer`: the same columns and merge with its own period column, and
 * partials derived by merging the finer partials of each coarser period (the merge of partials is
 * exact, so the coarser rows equal what the source rows would give).
 */
export function coarserRollup(
  finer: Rollup,
  grain: { name: string; summary: string; period: string; periodMs: number; periodColumn: string; partitionBy: PartitionGrain },
): Rollup {
  if (grain.periodMs % finer.periodMs !== 0) throw new Error(`${grain.name}: a period must hold whole periods of ${finer.name}`);
  const rename = (column: string) => (column === finer.periodColumn ? grain.periodColumn : column);
  return {
    ...finer,
    ...grain,
    from: finer.name,
    columns: finer.columns.map(([name, type]) => [rename(name), type] as const),
    derive: finer.merge.map((item) => (item === finer.periodColumn ? `$period AS ${grain.periodColumn}` : item)),
    merge: finer.merge.map(rename),
    sortBy: finer.sortBy.map(rename),
  };
}

/** Any lake dataset. */
export type Dataset = IngestedDataset | Rollup;

/** The partials table of a rollup. */
export function partialsTable(rollup: Rollup): string {
  return `${rollup.name}_partials`;
}

/** An ingested dataset from its declaration: `validate` follows from `record` and `keyFrom`. */
export function ingested<Row>(declaration: Omit<IngestedDataset<Row>, 'kind' | 'validate'>): IngestedDataset<Row> {
  return { kind: 'ingested', ...declaration, validate: recordValidator(declaration.record, declaration.keyFrom) };
}

import { sqlIdent, sqlString } from '../../core/adapters/ducklake/attach.ts';
import type { ColumnType, IngestedDataset } from '../../core/datasets/index.ts';
import { MAX_FUTURE_MS, MIN_EVENT_TIME_MS } from '../event-time.ts';
import type { FieldCheck, FieldRule, RecordShape } from './record-shape.ts';

/**
 * A dataset's contract as SQL over canonical records (see `canonical-gate.ts`): how DuckDB reads
 * one (`from_json` with `structure`), the verdict zod and the dataset's rules would give (every
 * check of every field, the key made of its parts, a plausible event time), and the lake's
 * columns from the read values. The verdict is true only where zod's would be: the fuzz test of
 * `bulk-validation.test.ts` compares them record by record.
 */
export interface ContractSql {
  /** The `from_json` structure: each field as VARCHAR (strings) or DOUBLE (numbers), as JSON.parse reads them. */
  structure: string;
  /** A boolean over the read fields (by name): true where the record is valid at `nowMs`. */
  verdict(nowMs: number): string;
  /** The select list of the dataset's columns in table order, with their lake types, from the read fields and the verdict column `valid` (invalid rows are not converted). */
  lakeColumns(valid: string): string;
}

const MAX_SAFE = '9007199254740991';

/** Compiles the contract of `dataset`, whose record has `shape`. */
export function contractSql(dataset: IngestedDataset, shape: RecordShape): ContractSql {
  const fields = new Map(shape.fields.map((field) => [field.name, field]));
  const structure = JSON.stringify(
    Object.fromEntries(shape.fields.map((field) => [field.name, field.json === 'string' ? 'VARCHAR' : 'DOUBLE'])),
  );
  const rules = shape.fields.map(fieldVerdict);
  if (dataset.key && dataset.keyFrom) rules.push(keyVerdict(dataset.key, dataset.keyFrom, fields));
  const time = sqlIdent(dataset.eventTime);
  return {
    structure,
    verdict: (nowMs) => `(${[...rules, `${time} >= ${MIN_EVENT_TIME_MS}`, `${time} <= ${nowMs + MAX_FUTURE_MS}`].join(' AND ')}) IS TRUE`,
    lakeColumns: (valid) =>
      dataset.columns.map(([name, type]) => `${lakeValue(sqlIdent(name), type, valid)} AS ${sqlIdent(name)}`).join(', '),
  };
}

function fieldVerdict(field: FieldRule): string {
  const value = sqlIdent(field.name);
  const rules = [...(field.json === 'number' ? [`isfinite(${value})`] : []), ...field.checks.map((check) => checkSql(value, check))];
  const all = rules.length > 0 ? rules.join(' AND ') : 'true';
  return field.nullable ? `(${value} IS NULL OR (${all}))` : `(${value} IS NOT NULL AND ${all})`;
}

function checkSql(value: string, check: FieldCheck): string {
  switch (check.kind) {
    case 'safeInteger':
      return `${value} = trunc(${value}) AND abs(${value}) <= ${MAX_SAFE}`;
    case 'greaterThan':
      return `${value} ${check.inclusive ? '>=' : '>'} ${check.value}`;
    case 'lessThan':
      return `${value} ${check.inclusive ? '<=' : '<'} ${check.value}`;
    // The gate lets only ASCII strings through: characters are UTF-16 units, as zod counts them.
    case 'minLength':
      return `length(${value}) >= ${check.value}`;
    case 'maxLength':
      return `length(${value}) <= ${check.value}`;
    case 'pattern':
      return `regexp_matches(${value}, ${sqlString(check.source)})`;
    case 'oneOf':
      return `${value} IN (${check.values.map(sqlString).join(', ')})`;
  }
}

/** The key equals its parts joined by `:`, a number part written as JavaScript writes a safe integer. */
function keyVerdict(key: string, parts: readonly string[], fields: Map<string, FieldRule>): string {
  const pieces = parts.map((part) => {
    const value = sqlIdent(part);
    return fields.get(part)?.json === 'number'
      ? `CASE WHEN ${value} = trunc(${value}) AND abs(${value}) <= ${MAX_SAFE} THEN CAST(CAST(${value} AS BIGINT) AS VARCHAR) END`
      : value;
  });
  return `${sqlIdent(key)} = ${pieces.join(` || ':' || `)}`;
}

/** A read field as its lake column; a TIMESTAMP is epoch ms in the record. Only valid rows are converted (others could overflow). */
function lakeValue(value: string, type: ColumnType, valid: string): string {
  if (type === 'TIMESTAMP') return `CASE WHEN ${valid} THEN epoch_ms(CAST(${value} AS BIGINT)) END`;
  if (type === 'BIGINT') return `CASE WHEN ${valid} THEN CAST(${value} AS BIGINT) END`;
  return value;
}

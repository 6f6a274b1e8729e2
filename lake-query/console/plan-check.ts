import { LAKE } from '../../core/adapters/ducklake/attach.ts';
import { INGESTED, ROLLUPS } from '../../core/datasets/index.ts';
import { partialsTable } from '../../core/datasets/dataset.ts';
import { ALLOWED_TABLE_FUNCTIONS, mayRunAggregate, mayRunScalar } from './functions.ts';

/**
 * The second look at a console query: the bound plan DuckDB will run (`json_serialize_plan`,
 * called by the worker itself, never by user SQL), with macros and views expanded. Every scalar
 * function, aggregate, window function and table scan in it must be on the allow-list, so a
 * built-in macro cannot smuggle a function the parse check would refuse by name. The lake's tables
 * may be scanned (`ducklake_scan` of `lake.main.<dataset>`, and the partials tables the rollup
 * views read), with their own columns only: not the virtual columns `filename`, `file_row_number`
 * or `file_index` that would give the files' absolute paths away.
 */

/** What a plan's table scans may read: the lake's datasets and the rollups' partials tables. */
const LAKE_TABLES = new Set([...INGESTED.map((dataset) => dataset.name), ...ROLLUPS.map((rollup) => partialsTable(rollup))]);

/** Column indexes of a scan that are not stored columns but harmless: the row count's empty column, `rowid`, DuckLake's `snapshot_id`. */
const HARMLESS_VIRTUAL_COLUMNS = new Set(['18446744073709551614', '18446744073709551615', '10000000000000000000']);

/** Plan nodes that read, write or call nothing by themselves. */
const PLAN_NODES = new Set([
  'LOGICAL_PROJECTION',
  'LOGICAL_FILTER',
  'LOGICAL_AGGREGATE_AND_GROUP_BY',
  'LOGICAL_WINDOW',
  'LOGICAL_UNNEST',
  'LOGICAL_LIMIT',
  'LOGICAL_ORDER_BY',
  'LOGICAL_TOP_N',
  'LOGICAL_DISTINCT',
  'LOGICAL_SAMPLE',
  'LOGICAL_PIVOT',
  'LOGICAL_GET',
  'LOGICAL_CHUNK_GET',
  'LOGICAL_DELIM_GET',
  'LOGICAL_EXPRESSION_GET',
  'LOGICAL_DUMMY_SCAN',
  'LOGICAL_EMPTY_RESULT',
  'LOGICAL_CTE_REF',
  'LOGICAL_JOIN',
  'LOGICAL_DELIM_JOIN',
  'LOGICAL_COMPARISON_JOIN',
  'LOGICAL_ANY_JOIN',
  'LOGICAL_CROSS_PRODUCT',
  'LOGICAL_POSITIONAL_JOIN',
  'LOGICAL_ASOF_JOIN',
  'LOGICAL_DEPENDENT_JOIN',
  'LOGICAL_UNION',
  'LOGICAL_EXCEPT',
  'LOGICAL_INTERSECT',
  'LOGICAL_RECURSIVE_CTE',
  'LOGICAL_MATERIALIZED_CTE',
]);

/**
 * The verdict on the text `json_serialize_plan` returned: `undefined` when every node, function
 * and scan is allowed, else the reason. A plan DuckDB could not serialise is refused with its error.
 */
export function checkPlan(serialized: string): string | undefined {
  // Column indexes of virtual columns pass 2^53: keep their digits as text.
  const root = JSON.parse(serialized.replace(/"index":(\d{16,})/g, '"index":"$1"')) as {
    error?: boolean;
    error_message?: string;
    plans?: unknown[];
  };
  if (root.error) return planError(String(root.error_message ?? 'the query could not be planned'));
  if (!Array.isArray(root.plans) || root.plans.length !== 1) return 'send exactly one query';
  return walk(root.plans[0]);
}

function walk(node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const child of node) {
      const reason = walk(child);
      if (reason) return reason;
    }
    return undefined;
  }
  if (!node || typeof node !== 'object') return undefined;
  const obj = node as Record<string, unknown>;
  const reason = checkNode(obj);
  if (reason) return reason;
  for (const value of Object.values(obj)) {
    if (value && typeof value === 'object') {
      const childReason = walk(value);
      if (childReason) return childReason;
    }
  }
  return undefined;
}

function checkNode(obj: Record<string, unknown>): string | undefined {
  const type = obj.type;
  if (typeof type === 'string' && type.startsWith('LOGICAL_') && !PLAN_NODES.has(type)) {
    return `${type.slice('LOGICAL_'.length).toLowerCase().replaceAll('_', ' ')} is not allowed`;
  }
  if (type === 'LOGICAL_GET') return checkScan(obj);
  const name = typeof obj.name === 'string' ? obj.name : '';
  switch (obj.expression_class) {
    case 'BOUND_FUNCTION':
      return mayRunScalar(name) ? undefined : `function ${name.slice(0, 60)}(): not on the console's list of allowed functions`;
    case 'BOUND_AGGREGATE':
      return mayRunAggregate(name) ? undefined : `aggregate ${name.slice(0, 60)}(): not on the console's list of allowed functions`;
    case 'BOUND_WINDOW': {
      // Window functions proper (row_number, lag, ...) carry no name; windowed aggregates carry theirs.
      const aggregate = (obj.aggregate as { name?: unknown } | null | undefined)?.name ?? obj.name;
      if (typeof aggregate === 'string' && aggregate !== '' && !mayRunAggregate(aggregate)) {
        return `window function ${aggregate.slice(0, 60)}(): not on the console's list of allowed functions`;
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function checkScan(get: Record<string, unknown>): string | undefined {
  const name = String(get.name ?? '');
  if (ALLOWED_TABLE_FUNCTIONS.includes(name)) return undefined;
  if (name !== 'ducklake_scan') return `table function ${name.slice(0, 60)}(): not allowed`;
  const data = (get.function_data ?? {}) as { catalog_name?: unknown; schema_name?: unknown; table_name?: unknown };
  const table = String(data.table_name ?? '');
  if (data.catalog_name !== LAKE || data.schema_name !== 'main' || !LAKE_TABLES.has(table)) {
    return `table ${[data.catalog_name, data.schema_name, table].map(String).join('.').slice(0, 80)}: not a table of the lake`;
  }
  const columns = Array.isArray(get.names) ? get.names.length : 0;
  for (const column of (get.column_indexes ?? []) as { index?: unknown }[]) {
    const index = String(column.index ?? '');
    if (HARMLESS_VIRTUAL_COLUMNS.has(index)) continue;
    if (!/^\d+$/.test(index) || Number(index) >= columns) {
      return `the virtual columns filename, file_row_number and file_index of ${table} are not allowed (they name the lake's files)`;
    }
  }
  return undefined;
}

/** A planning error as the user should read it. */
function planError(message: string): string {
  const first = message.split('\n')[0]!;
  return first.slice(0, 300);
}

import { LAKE } from '../core/adapters/ducklake/attach.ts';
import { DATASETS } from '../core/datasets/index.ts';
import { ALLOWED_TABLE_FUNCTIONS, mayCall } from './console/functions.ts';

/**
 * The parse-tree check of `POST /api/sql`. DuckDB's `json_serialize_sql` turns the text into its
 * own parse tree (it refuses anything but SELECT statements); this walks every node of it, at any
 * depth (CTEs, subqueries, joins, lateral and scalar subqueries, set operations), and allows only:
 * - table references to the lake's tables (bare, or as `lake.name` / `lake.main.name`, at any
 *   snapshot with `AT (...)`) or to a CTE in scope; never the catalog's own tables;
 * - table functions from a short allow-list of in-memory generators;
 * - scalar, aggregate and window functions and macros on the allow-list of `console/functions.ts`,
 *   by their bare name (never `system.main.f()`).
 * Macros are expanded only when DuckDB binds the query: `console/plan-check.ts` checks that plan.
 * A quoted path such as `FROM '/etc/passwd'` is a table reference to a name that is not a view,
 * so replacement scans (files, URLs) never reach DuckDB's binder.
 */

/** The tables user SQL may read: every dataset of the lake (a rollup by its merged view). */
export const SQL_VIEWS: readonly string[] = DATASETS.map((dataset) => dataset.name);

/** Table reference kinds that only combine other references or literal rows. */
const TABLE_REF_KINDS = new Set(['BASE_TABLE', 'TABLE_FUNCTION', 'SUBQUERY', 'JOIN', 'EMPTY', 'EXPRESSION_LIST', 'PIVOT']);

const CTE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The verdict on one parsed statement: `undefined` when allowed, else the reason. */
export function checkParseTree(serialized: unknown): string | undefined {
  const root = serialized as { error?: boolean; error_message?: string; statements?: unknown[] };
  if (!root || typeof root !== 'object') return 'the statement could not be parsed';
  if (root.error) return 'only SELECT and WITH queries are allowed (no COPY, ATTACH, SET, PRAGMA, INSTALL, CREATE, DROP, ...)';
  if (!Array.isArray(root.statements) || root.statements.length !== 1) {
    return `send exactly one statement, got ${Array.isArray(root.statements) ? root.statements.length : 0}`;
  }
  return walk(root.statements[0], new Set());
}

function walk(node: unknown, scope: ReadonlySet<string>): string | undefined {
  if (Array.isArray(node)) {
    for (const child of node) {
      const reason = walk(child, scope);
      if (reason) return reason;
    }
    return undefined;
  }
  if (!node || typeof node !== 'object') return undefined;
  const obj = node as Record<string, unknown>;
  let inner = scope;
  const ctes = (obj.cte_map as { map?: { key: string }[] } | undefined)?.map;
  if (Array.isArray(ctes) && ctes.length > 0) {
    inner = new Set(scope);
    for (const { key } of ctes) {
      if (!CTE_NAME.test(key)) return `CTE name "${key.slice(0, 60)}": expected a plain identifier`;
      (inner as Set<string>).add(key.toLowerCase());
    }
  }
  const reason = checkNode(obj, inner);
  if (reason) return reason;
  // A table function's own name was checked as one; its arguments are walked like any expression.
  const children =
    obj.type === 'TABLE_FUNCTION' ? { ...obj, function: (obj.function as { children?: unknown } | undefined)?.children } : obj;
  for (const value of Object.values(children)) {
    if (value && typeof value === 'object') {
      const childReason = walk(value, inner);
      if (childReason) return childReason;
    }
  }
  return undefined;
}

function checkNode(obj: Record<string, unknown>, scope: ReadonlySet<string>): string | undefined {
  const type = obj.type;
  // Table references carry `sample` and `query_location`; expressions carry `class`; query nodes no location.
  const isTableRef = 'sample' in obj && 'query_location' in obj && !('class' in obj) && typeof type === 'string';
  if (isTableRef && !TABLE_REF_KINDS.has(type)) return `${type.toLowerCase().replaceAll('_', ' ')} is not allowed`;
  if (type === 'BASE_TABLE') {
    const name = String(obj.table_name ?? '');
    const schema = String(obj.schema_name ?? '');
    const catalog = String(obj.catalog_name ?? '');
    // `lake.prices` parses as schema `lake`; `lake.main.prices` as catalog `lake`, schema `main`.
    const [c, sc] = [catalog.toLowerCase(), schema.toLowerCase()];
    const inLake = (c === '' || c === LAKE) && (sc === '' || sc === 'main' || (c === '' && sc === LAKE));
    if (!inLake) {
      return `table ${[catalog, schema, name].filter(Boolean).join('.')}: only the lake's tables ${SQL_VIEWS.join(', ')} may be read`;
    }
    if (!SQL_VIEWS.includes(name.toLowerCase()) && !scope.has(name.toLowerCase())) {
      return `table "${name.slice(0, 80)}": only the lake's tables ${SQL_VIEWS.join(', ')} may be read (no files, URLs or other tables)`;
    }
  }
  if (type === 'TABLE_FUNCTION') {
    const fn = obj.function as { function_name?: string; schema?: string; catalog?: string } | undefined;
    const name = String(fn?.function_name ?? '').toLowerCase();
    if (!ALLOWED_TABLE_FUNCTIONS.includes(name) || fn?.schema || fn?.catalog) {
      return `table function ${name || '(unknown)'}(): not allowed; only ${ALLOWED_TABLE_FUNCTIONS.join(', ')}`;
    }
  }
  if ((obj.class === 'FUNCTION' || obj.class === 'WINDOW') && typeof obj.function_name === 'string') {
    const name = obj.function_name.toLowerCase();
    // The parser itself writes some forms as `main.` functions: `[1, 2]` (list_value), `(a, b)`
    // (row), `EXTRACT` (date_part). Another schema or a catalog could name other functions.
    if (obj.catalog || (obj.schema && obj.schema !== 'main')) {
      return `function ${[obj.catalog, obj.schema, name].filter(Boolean).join('.')}(): call functions by their bare name`;
    }
    if (!mayCall(name)) return `function ${name.slice(0, 60)}(): not on the console's list of allowed functions`;
  }
  return undefined;
}

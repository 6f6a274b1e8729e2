import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { extensionsOf } from '../../core/adapters/ducklake/attach.ts';
import { resolveExtensionDir } from '../../core/lake-location.ts';
import { checkParseTree } from '../sql-guard.ts';
import { ALLOWED_FUNCTIONS, ALLOWED_TABLE_FUNCTIONS, mayCall } from './functions.ts';
import { checkPlan } from './plan-check.ts';

/** Families that reveal or change the process, its settings or its files: none of them may be allowed. */
const NEVER = [
  /^current_(setting|database|catalog|schema|schemas|query|role|user)$/,
  /^(getvariable|getenv|version|stats|nextval|currval|setseed|txid_current|in_search_path|sleep_ms|pg_sleep|write_log)$/,
  /^json_(serialize|deserialize|execute)/,
  /^(duckdb|pragma|ducklake|parquet|read|sqlite|postgres|iceberg|delta)_/,
  /^(glob|query|query_table|which_secret|summary|sniff_csv|checkpoint|force_checkpoint)$/,
  /^pg_get_|^format_type$|^get_block_size$|^has_.*_privilege$/,
  /^__internal/,
];

describe('the allow-list of console functions', () => {
  let instance: DuckDBInstance;
  let db: DuckDBConnection;

  before(async () => {
    // The worker's DuckDB: every extension a lake may load, so their functions are listed too.
    const extensionDir = resolveExtensionDir({ duckdbExtensionDir: process.env.DUCKDB_EXTENSION_DIR });
    instance = await DuckDBInstance.create(':memory:', extensionDir ? { extension_directory: extensionDir } : {});
    db = await instance.connect();
    for (const name of new Set([
      ...extensionsOf({ kind: 'local', root: '/', catalog: { kind: 'sqlite', path: '/x' }, extensionDir, synthetic: false }),
      'postgres_scanner',
      'httpfs',
    ])) {
      if (!extensionDir) await db.run(`INSTALL ${name}`);
      await db.run(`LOAD ${name}`);
    }
  });

  after(() => {
    db.closeSync();
    instance.closeSync();
  });

  async function functions(type: string): Promise<Map<string, string>> {
    const reader = await db.runAndReadAll(
      `SELECT lower(function_name) AS name, any_value(coalesce(macro_definition, '')) AS definition
         FROM duckdb_functions() WHERE function_type = $type GROUP BY 1`,
      { type },
    );
    return new Map(reader.getRowObjectsJS().map((row) => [String(row.name), String(row.definition)]));
  }

  it('names only functions DuckDB 1.5.5 has, each of the kind it is listed as', async () => {
    const scalars = await functions('scalar');
    const aggregates = await functions('aggregate');
    const macros = await functions('macro');
    for (const name of ALLOWED_FUNCTIONS.scalar) assert.ok(scalars.has(name), `scalar ${name}`);
    for (const name of ALLOWED_FUNCTIONS.aggregate) assert.ok(aggregates.has(name), `aggregate ${name}`);
    for (const name of ALLOWED_FUNCTIONS.macro) assert.ok(macros.has(name), `macro ${name}`);
    const tables = await functions('table');
    for (const name of ALLOWED_TABLE_FUNCTIONS) assert.ok(tables.has(name), `table function ${name}`);
  });

  it('allows nothing that reveals settings, the catalog, files, secrets or the environment, or serialises a plan', async () => {
    const all = [...ALLOWED_FUNCTIONS.scalar, ...ALLOWED_FUNCTIONS.aggregate, ...ALLOWED_FUNCTIONS.macro, ...ALLOWED_TABLE_FUNCTIONS];
    for (const name of all) for (const family of NEVER) assert.doesNotMatch(name, family, `${name} is allowed`);
    // And the other way round: every table function and table macro DuckDB has but three is refused.
    const tables = [...(await functions('table')).keys(), ...(await functions('table_macro')).keys()];
    assert.ok(tables.length > 100, `${tables.length} table functions`);
    assert.deepEqual(tables.filter((name) => ALLOWED_TABLE_FUNCTIONS.includes(name)).sort(), ['generate_series', 'range', 'unnest']);
  });

  it('allows only macros whose definitions call allowed functions, so a macro cannot smuggle one', async () => {
    const macros = await functions('macro');
    assert.ok(ALLOWED_FUNCTIONS.macro.size > 50);
    for (const name of ALLOWED_FUNCTIONS.macro) {
      const definition = macros.get(name)!;
      const tree = await db.runAndReadAll('SELECT json_serialize_sql($sql::VARCHAR) AS t', { sql: `SELECT ${definition}` });
      const verdict = checkParseTree(JSON.parse(String(tree.getRowObjectsJS()[0]!.t)));
      assert.equal(verdict, undefined, `macro ${name} is defined as ${definition}`);
    }
    // The macros left out call what the list refuses: each definition fails the same check.
    for (const name of ['current_catalog', 'pg_get_viewdef', 'format_type', 'get_block_size', 'pg_sleep', 'current_schema']) {
      assert.equal(mayCall(name), false, name);
      const tree = await db.runAndReadAll('SELECT json_serialize_sql($sql::VARCHAR) AS t', { sql: `SELECT ${macros.get(name)}` });
      assert.ok(checkParseTree(JSON.parse(String(tree.getRowObjectsJS()[0]!.t))), `macro ${name}: its definition passes`);
    }
  });

  it('refuses, on the bound plan alone, what a macro expands into: the plan check does not trust the names the user wrote', async () => {
    const plan = async (sql: string) => {
      const reader = await db.runAndReadAll('SELECT json_serialize_plan($sql::VARCHAR) AS p', { sql });
      return checkPlan(String(reader.getRowObjectsJS()[0]!.p));
    };
    // Each of these is a macro whose name the parse check would refuse; here only the plan is looked at.
    assert.match((await plan('SELECT current_catalog()'))!, /function current_database\(\): not on the console's list/);
    assert.match((await plan('SELECT pg_get_viewdef(1)'))!, /table function duckdb_views\(\): not allowed/);
    assert.match((await plan('SELECT format_type(1, 1)'))!, /table function duckdb_types\(\): not allowed/);
    assert.match((await plan("SELECT get_block_size('memory')"))!, /table function pragma_database_size\(\): not allowed/);
    assert.match((await plan('SELECT pg_sleep(1)'))!, /function sleep_ms\(\): not on the console's list/);
    assert.match((await plan("SELECT list_transform([1], x -> current_setting('threads'))"))!, /function current_setting\(\)/);
    assert.match((await plan("SELECT json_serialize_plan('SELECT 1')"))!, /function json_serialize_plan\(\)/);
    assert.match((await plan('SELECT * FROM duckdb_settings()'))!, /table function duckdb_settings\(\): not allowed/);
    // What the allowed macros expand into passes.
    assert.equal(await plan("SELECT list_sum([1, 2]), list_max([1]), array_to_string(['a'], ','), split_part('a,b', ',', 1)"), undefined);
    assert.equal(await plan('SELECT sum(range) FROM range(3)'), undefined);
  });
});

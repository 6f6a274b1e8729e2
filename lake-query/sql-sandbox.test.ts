import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LakeError } from '../core/errors.ts';
import { SqlSandbox, lockdownSql } from './sql-sandbox.ts';
import { FixtureLake } from '../tests/support/fixture-lake.ts';

const T0 = Date.parse('2026-03-02T05:00:00Z');

/** Inputs an attacker would try; each must be refused before or by DuckDB, with a reason. */
const HOSTILE: string[] = [
  "SELECT * FROM read_text('/etc/passwd')",
  "SELECT * FROM read_csv('/etc/passwd')",
  "SELECT * FROM read_csv_auto('/etc/passwd')",
  "SELECT * FROM read_json('/etc/hosts')",
  "SELECT * FROM read_blob('/etc/passwd')",
  "SELECT * FROM read_parquet('/tmp/*.parquet')",
  "SELECT * FROM parquet_metadata('/tmp/x.parquet')",
  "SELECT * FROM glob('/etc/*')",
  "SELECT * FROM '/etc/passwd'",
  'SELECT * FROM "/etc/passwd"',
  "SELECT * FROM 'https://example.com/data.csv'",
  "SELECT * FROM 's3://other-bucket/x.parquet'",
  "SELECT * FROM read_text('/et' || 'c/passwd')",
  "SELECT * FROM query_table('prices')",
  "SELECT * FROM query('SELECT 1')",
  "SELECT * FROM iceberg_scan('/tmp/t')",
  "SELECT * FROM delta_scan('/tmp/t')",
  "SELECT * FROM sqlite_scan('/tmp/x.db', 't')",
  "SELECT * FROM postgres_scan('host=x', 'public', 't')",
  'SELECT * FROM duckdb_settings()',
  'SELECT * FROM duckdb_secrets()',
  "SELECT getenv('HOME')",
  "SELECT current_setting('allowed_directories')",
  "COPY (SELECT 1) TO '/tmp/out.csv'",
  "COPY prices TO '/tmp/out.parquet'",
  "ATTACH '/tmp/x.db' AS x",
  "ATTACH ':memory:' AS m",
  'DETACH m',
  'USE memory',
  'INSTALL httpfs',
  'LOAD httpfs',
  'SET enable_external_access = true',
  'SET lock_configuration = false',
  'RESET memory_limit',
  'PRAGMA enable_profiling',
  'PRAGMA version',
  'CALL pragma_version()',
  "EXPORT DATABASE '/tmp/dump'",
  "IMPORT DATABASE '/tmp/dump'",
  'CREATE TABLE t AS SELECT 1',
  'CREATE OR REPLACE VIEW prices AS SELECT 1',
  'DROP VIEW prices',
  "INSERT INTO prices VALUES ('x')",
  "UPDATE prices SET symbol = 'X'",
  'DELETE FROM prices',
  'SELECT 1; SELECT 2',
  "SELECT 1; COPY (SELECT 1) TO '/tmp/x'",
  'SELECT 1 /* ; */ ; DROP VIEW prices',
  "SELECT 1 -- harmless\n; ATTACH '/tmp/y.db'",
  "sElEcT * FrOm ReAd_TeXt('/etc/passwd')",
  "SELECT\t*\nFROM\n\tread_text  (  '/etc/passwd'  )",
  "SELECT * FROM prices WHERE symbol IN (SELECT content FROM read_text('/etc/passwd'))",
  "WITH a AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM a",
  "WITH a AS (WITH b AS (SELECT * FROM '/etc/passwd') SELECT * FROM b) SELECT * FROM a",
  "SELECT * FROM prices p, LATERAL (SELECT * FROM read_text('/etc/passwd')) t",
  "SELECT (SELECT content FROM read_text('/etc/passwd')) AS x",
  "SELECT 1 UNION ALL SELECT count(*) FROM read_text('/etc/passwd')",
  'SELECT * FROM (WITH "/etc/passwd" AS (SELECT 1) SELECT 1), \'/etc/passwd\'',
  "SUMMARIZE SELECT * FROM '/etc/passwd'",
  "DESCRIBE SELECT * FROM read_text('/etc/passwd')",
  'SHOW TABLES',
  'SELECT * FROM information_schema.tables',
  'SELECT * FROM memory.main.prices',
  'SELECT * FROM system.main.duckdb_settings()',
  'SELECT * FROM prices WHERE id = $1',
  'VACUUM',
  'CHECKPOINT',
  'BEGIN TRANSACTION',
  "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
  "SELECT * FROM read_text(['/etc/passwd'])",
  "FROM read_text('/etc/passwd')",
  "SELECT * FROM unnest((SELECT list(content) FROM read_text('/etc/passwd')))",
  "PIVOT (SELECT * FROM read_text('/etc/passwd')) ON filename USING count(*)",
  '',
  '   ',
  '-- only a comment',
  // The catalog's own tables, functions and connection string.
  'SELECT * FROM __ducklake_metadata_lake.main.ducklake_data_file',
  'SELECT * FROM "__ducklake_metadata_lake".main.ducklake_metadata',
  'SELECT * FROM main.ducklake_snapshot',
  'SELECT * FROM lake.snapshots()',
  "SELECT * FROM ducklake_list_files('lake', 'prices')",
  "SELECT * FROM ducklake_snapshots('lake')",
  'SELECT * FROM duckdb_databases()',
  'SELECT path FROM duckdb_databases()',
  'SELECT * FROM lake.bus_offsets."prices/0"',
  'SELECT * FROM bus_offsets."prices/0"',
  'SELECT * FROM imports.files',
];

/**
 * Introspection: plans, settings, view definitions, secrets, file names, the environment, through
 * functions, built-in macros and table macros; each refused by the allow-list of functions (by
 * name, then on the bound plan) or by the plan check of the scans.
 */
const INTROSPECTION: string[] = [
  "SELECT json_serialize_plan('SELECT 1')",
  "SELECT json_serialize_plan('SELECT * FROM prices', format := true)",
  "SELECT json_serialize_sql('SELECT 1')",
  "SELECT json_deserialize_sql(json_serialize_sql('SELECT 1'))",
  "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))",
  "SELECT current_setting('allowed_directories')",
  "SELECT list_transform(['allowed_directories'], x -> current_setting(x))",
  "SELECT getvariable('x')",
  'SELECT current_database()',
  'SELECT current_catalog()',
  'SELECT current_schema()',
  'SELECT current_schemas(true)',
  'SELECT current_query()',
  'SELECT version()',
  'SELECT pg_get_viewdef(1)',
  'SELECT format_type(1, 1)',
  "SELECT get_block_size('lake')",
  'SELECT pg_sleep(100)',
  'SELECT sleep_ms(100000)',
  "SELECT write_log('x')",
  'SELECT stats(price_usd) FROM prices',
  "SELECT nextval('s')",
  'SELECT setseed(0.5)',
  "SELECT which_secret('s3://bucket/x', 's3')",
  "SELECT * FROM which_secret('s3://bucket/x', 's3')",
  'SELECT * FROM duckdb_views()',
  'SELECT sql FROM duckdb_views()',
  'SELECT * FROM duckdb_extensions()',
  'SELECT * FROM duckdb_functions()',
  "SELECT * FROM duckdb_logs_parsed('x')",
  'SELECT * FROM histogram(prices, price_usd)',
  'SELECT * FROM histogram(__ducklake_metadata_lake.main.ducklake_data_file, path)',
  'SELECT * FROM repeat_row(1, num_rows := 2)',
  'SELECT * FROM summary((SELECT 1))',
  "SELECT * FROM sql_auto_complete('SELECT * FROM du')",
  'SELECT filename FROM prices',
  'SELECT DISTINCT filename FROM prices',
  'SELECT max(filename) FROM prices',
  'SELECT file_row_number, file_index FROM prices',
  'SELECT p.filename FROM prices p',
  'WITH f AS (SELECT filename AS x FROM prices) SELECT * FROM f',
  'SELECT filename FROM candles_1m',
  'SELECT system.main.abs(1)',
  'SELECT lake.main.abs(1)',
  'SELECT pg_catalog.current_database()',
  "SELECT main.current_setting('threads')",
  "SELECT icu_collate_de('a')",
  "SELECT * FROM range(3) r, LATERAL (SELECT current_setting('threads')) s",
  "SELECT (SELECT current_setting('threads'))",
  "SELECT * FROM unnest((SELECT list(current_setting('threads'))))",
  "SELECT * FROM prices AT (VERSION => (SELECT length(current_setting('threads'))))",
  "SELECT __internal_compress_string_utinyint('a')",
  "SELECT * FROM generate_series(1, 2) t(x) WHERE x = length(getvariable('a'))",
  "SELECT * FROM glob('*')",
];

/** Analytical queries the allow-list must keep working, each with the rows it must answer. */
const BENIGN: [string, unknown[][]][] = [
  ["SELECT list_sum([1, 2, 3]) AS a, list_aggr([1, 2], 'max') AS b, array_to_string(['x', 'y'], ',') AS c", [['6', 2, 'x,y']]],
  ['SELECT list_reduce([1, 2, 3], (a, b) -> a + b) AS a, [x * 2 FOR x IN [1, 2, 3] IF x > 1] AS b', [[6, [4, 6]]]],
  [
    "SELECT split_part('a,b', ',', 2) AS a, regexp_extract('BTC-USD', '(\\w+)-', 1) AS b, 'B' COLLATE nocase = 'b' AS c",
    [['b', 'BTC', true]],
  ],
  [
    "SELECT extract(year FROM TIMESTAMP '2026-03-02') AS y, date_trunc('day', TIMESTAMP '2026-03-02 05:00') AS d",
    [['2026', '2026-03-02 00:00:00']],
  ],
  [
    "SELECT {'x': 1}.x AS a, (1, 2) = (1, 2) AS b, unnest([1, 2]) AS c",
    [
      [1, true, 1],
      [1, true, 2],
    ],
  ],
  ['SELECT sum(x)::INTEGER AS s FROM unnest([1, 2, 3]) t(x)', [[6]]],
  ['SELECT count(*)::INTEGER AS n FROM generate_series(1, 5)', [[5]]],
  ['SELECT symbol, max(price_usd) AS m FROM prices GROUP BY symbol QUALIFY row_number() OVER (ORDER BY symbol) = 1', [['BTC', 110]]],
  ["SELECT * FROM (PIVOT (SELECT symbol, price_usd FROM prices) ON symbol IN ('BTC', 'ETH') USING max(price_usd))", [[110, 3100]]],
  ['SELECT count(*)::INTEGER AS n FROM candles_1m', [[4]]],
  ['SELECT count(*)::INTEGER AS n FROM prices a ASOF JOIN prices b ON a.symbol = b.symbol AND a.ts >= b.ts', [[4]]],
  ['WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT sum(n)::INTEGER AS s FROM r', [[55]]],
  ['SELECT pg_typeof(1) AS t, nullif(1, 1) AS n, pg_size_pretty(2048) AS s', [['integer', null, '2.0 KiB']]],
  ["SELECT json_extract_string('{\"a\": 1}', '$.a') AS a, '{\"a\": 2}'::JSON->>'a' AS b", [['1', '2']]],
];

describe('SQL sandbox', () => {
  let fixture: FixtureLake;
  let sandbox: SqlSandbox;

  before(async () => {
    fixture = await FixtureLake.create();
    await fixture.writePrices([
      { symbol: 'BTC', ts: T0, price: 100 },
      { symbol: 'BTC', ts: T0 + 60_000, price: 110 },
      { symbol: 'ETH', ts: T0, price: 3_000 },
      { symbol: 'ETH', ts: T0 + 86_400_000, price: 3_100 },
    ]);
    await fixture.rows(`CALL ducklake_flush_inlined_data('lake')`);
    // A file inside the lake root that is not a lake dataset: not reachable either.
    await writeFile(join(fixture.root, 'secret.csv'), 'password\nhunter2\n');
    sandbox = await SqlSandbox.open(fixture.location, { maxRows: 3, maxBytes: 25_000, timeoutMs: 2_000, memoryLimit: '128MB', threads: 1 });
  });

  after(async () => {
    await sandbox.close();
    await fixture.remove();
  });

  it(`refuses ${HOSTILE.length} hostile inputs with a reason and leaves the lake readable`, async () => {
    assert.ok(HOSTILE.length >= 30);
    for (const sql of HOSTILE) {
      await assert.rejects(
        sandbox.run(sql),
        (error: unknown) => {
          assert.ok(error instanceof LakeError, `${sql}: a LakeError`);
          assert.equal(error.code, 'QUERY_INVALID', `${sql}: ${error.message}`);
          assert.match(error.message, /^sql: \S/, sql);
          assert.doesNotMatch(error.message, /root:|hunter2/, `${sql} leaked file content`);
          return true;
        },
        `refused: ${JSON.stringify(sql)}`,
      );
    }
    const still = await sandbox.run('SELECT count(*)::INTEGER AS n FROM prices');
    assert.deepEqual(still.rows, [[4]]);
  });

  it(`refuses ${INTROSPECTION.length} ways to read plans, settings, view definitions, secrets, file names or the environment`, async () => {
    for (const sql of INTROSPECTION) {
      await assert.rejects(
        sandbox.run(sql),
        (error: unknown) => {
          assert.ok(error instanceof LakeError, `${sql}: a LakeError`);
          assert.equal(error.code, 'QUERY_INVALID', `${sql}: ${error.message}`);
          assert.match(error.message, /^sql: \S/, sql);
          assert.doesNotMatch(
            error.message,
            new RegExp(`${fixture.root}|allowed_directories = |ducklake-[0-9a-f-]+\\.parquet`),
            `${sql} leaked`,
          );
          return true;
        },
        `refused: ${JSON.stringify(sql)}`,
      );
    }
    const still = await sandbox.run('SELECT count(*)::INTEGER AS n FROM prices');
    assert.deepEqual(still.rows, [[4]]);
  });

  it('says which function or column it refuses', async () => {
    await assert.rejects(
      sandbox.run("SELECT json_serialize_plan('SELECT 1')"),
      /function json_serialize_plan\(\): not on the console's list/,
    );
    await assert.rejects(sandbox.run('SELECT pg_get_viewdef(1)'), /function pg_get_viewdef\(\): not on the console's list/);
    await assert.rejects(sandbox.run('SELECT filename FROM prices'), /virtual columns filename, file_row_number and file_index of prices/);
    await assert.rejects(sandbox.run('SELECT system.main.abs(1)'), /function system.main.abs\(\): call functions by their bare name/);
    await assert.rejects(sandbox.run('PIVOT prices ON symbol USING max(price_usd)'), /PIVOT needs its values listed/);
  });

  it(`answers ${BENIGN.length} analytical queries over lists, text, dates, JSON and windows`, async () => {
    for (const [sql, rows] of BENIGN) assert.deepEqual((await sandbox.run(sql)).rows, rows, sql);
  });

  it('says why a query is refused', async () => {
    await assert.rejects(sandbox.run("SELECT * FROM read_text('/etc/passwd')"), /table function read_text\(\): not allowed/);
    await assert.rejects(sandbox.run("SELECT * FROM '/etc/passwd'"), /table "\/etc\/passwd": only the lake's tables/);
    await assert.rejects(sandbox.run('SELECT 1; SELECT 2'), /exactly one statement, got 2/);
    await assert.rejects(sandbox.run("COPY (SELECT 1) TO '/tmp/x'"), /only SELECT and WITH queries are allowed/);
  });

  it('runs aggregations, window functions and CTEs over the lake views', async () => {
    const grouped = await sandbox.run('SELECT symbol, count(*)::INTEGER AS n, max(price_usd) AS top FROM prices GROUP BY ALL ORDER BY 1');
    assert.deepEqual(grouped.rows, [
      ['BTC', 2, 110],
      ['ETH', 2, 3100],
    ]);
    assert.deepEqual(
      grouped.columns.map((c) => `${c.name} ${c.type}`),
      ['symbol VARCHAR', 'n INTEGER', 'top DOUBLE'],
    );
    const windowed = await sandbox.run(
      `WITH r AS (SELECT symbol, ts, price_usd / lag(price_usd) OVER (PARTITION BY symbol ORDER BY ts) - 1 AS ret FROM prices)
       SELECT symbol, round(max(ret), 4) AS ret FROM r WHERE ret IS NOT NULL GROUP BY 1 ORDER BY 1`,
    );
    assert.deepEqual(windowed.rows, [
      ['BTC', 0.1],
      ['ETH', 0.0333],
    ]);
    const generated = await sandbox.run('SELECT sum(range)::INTEGER AS s FROM range(10)');
    assert.deepEqual(generated.rows, [[45]]);
    const letters = await sandbox.run('SELECT count(*)::INTEGER AS n FROM dead_letters');
    assert.deepEqual(letters.rows, [[0]]);
  });

  it('caps the rows and says it cut them', async () => {
    const result = await sandbox.run('SELECT * FROM range(100)');
    assert.equal(result.rowCount, 3);
    assert.equal(result.truncated, true);
    assert.equal(result.truncatedBy, 'rows');
    assert.equal(result.rows.length, 3);
    const exact = await sandbox.run('SELECT * FROM range(3)');
    assert.deepEqual([exact.rowCount, exact.truncated, exact.truncatedBy], [3, false, undefined]);
    const small = await sandbox.run('SELECT 1 AS one');
    assert.equal(small.truncated, false);
  });

  it('caps the bytes of an answer and says it cut them, even before the first row', async () => {
    const wide = await sandbox.run("SELECT range::INTEGER AS n, repeat('x', 10000) AS filler FROM range(100)");
    assert.equal(wide.truncatedBy, 'bytes');
    assert.equal(wide.truncated, true);
    assert.equal(wide.maxBytes, 25_000);
    assert.deepEqual(
      wide.rows.map((row) => row[0]),
      [0, 1],
    );
    assert.ok(Buffer.byteLength(JSON.stringify(wide.rows)) <= 25_000);
    // One row larger than the cap: no rows, and the answer says it was cut (never a silent empty answer).
    const huge = await sandbox.run("SELECT repeat('x', 100000) AS filler");
    assert.deepEqual([huge.rows, huge.rowCount, huge.truncated, huge.truncatedBy], [[], 0, true, 'bytes']);
    const empty = await sandbox.run('SELECT 1 AS one WHERE false');
    assert.deepEqual([empty.rows, empty.truncated, empty.truncatedBy], [[], false, undefined]);
  });

  it('interrupts a query past its time limit', async () => {
    await assert.rejects(
      sandbox.run('SELECT count(*) FROM range(1000000000000) a WHERE a.range % 7 = 3'),
      (error: unknown) => error instanceof LakeError && error.code === 'QUERY_LIMIT' && /time limit of 2000 ms/.test(error.message),
    );
  });

  it('locks DuckDB itself: file access outside the lake, extension loading and settings changes fail even without the parse check', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      for (const statement of lockdownSql(fixture.location)) await db.run(statement);
      for (const sql of [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "COPY (SELECT 1) TO '/tmp/cryptolake-escape.csv'",
        "ATTACH '/tmp/cryptolake-escape.db'",
        'LOAD httpfs',
        'SET enable_external_access = true',
        'SET lock_configuration = false',
        "SET allowed_directories = ['/']",
        "SELECT * FROM read_text('https://example.com/')",
      ]) {
        await assert.rejects(db.run(sql), /Permission Error|disabled|locked|does not exist/, sql);
      }
      const inside = await db.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM glob('${fixture.root}/main/prices/**/*.parquet')`);
      assert.ok((inside.getRowObjectsJS()[0]!.n as number) > 0, 'the lake root stays readable');
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  });
});

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
    sandbox = await SqlSandbox.open(fixture.location, { maxRows: 3, timeoutMs: 2_000, memoryLimit: '128MB', threads: 1 });
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
    assert.equal(result.rows.length, 3);
    const small = await sandbox.run('SELECT 1 AS one');
    assert.equal(small.truncated, false);
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

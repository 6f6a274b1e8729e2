/**
 * `npm run sql`: the DuckDB CLI opened on the lake (its DuckLake catalog attached read-only as
 * `lake` and made the default, so every table is ready: prices, trades, candles_1m, ...).
 * Arguments after `--` go to the CLI (`npm run sql -- -c "SELECT ..."`), but for its own
 * `--print-init` (print the init SQL instead, for any other DuckDB client) and `--help`.
 * The CLI is `DUCKDB_CLI`, else `duckdb` on the PATH.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCommand, type CommandSpec } from '../../core/cli.ts';
import { LakeError } from '../../core/errors.ts';
import { createLogger } from '../../core/log.ts';
import { openAdapters } from '../../core/adapters/select.ts';
import { runMain } from '../../core/process.ts';
import { loadLakeQueryConfig } from '../config.ts';
import { lakeInitSql } from './init-sql.ts';
import { LakeSession } from '../../core/adapters/ducklake/session.ts';
import { ensureLakeTables } from '../../core/adapters/ducklake/tables.ts';

/** The command line of `npm run sql`: its `--help` is generated from it. */
const SQL = {
  name: 'sql',
  usage: 'npm run sql -- [--print-init] [DuckDB CLI arguments]',
  description:
    'Opens the DuckDB CLI on the lake (LAKE_DIR, or S3_BUCKET and friends, as the services read it)\n' +
    'with the views of the lake ready: prices, trades, candles_1m and the others the API serves.',
  flags: {
    'print-init': {
      type: 'boolean',
      description: 'print the init SQL (views, and S3 access for a bucket lake) instead, for any DuckDB client',
    },
  },
  passThrough: 'the DuckDB CLI (-c "SELECT ...", -json, -readonly, ...; its own help is -help)',
  notes:
    'Examples:\n' +
    '  npm run sql -- -c "SELECT symbol, count(*) FROM prices GROUP BY 1"\n' +
    '  npm run sql -- --print-init > lake.sql && duckdb -init lake.sql\n\n' +
    'The CLI is DUCKDB_CLI, else duckdb on the PATH (pip install duckdb-cli==1.5.5).',
} satisfies CommandSpec;

const { flags, rest } = readCommand(SQL);
const log = createLogger(process.env.LOG_LEVEL ?? 'warn');

await runMain(log, async () => {
  loadLakeQueryConfig(process.env);
  const adapters = await openAdapters(process.env, log);
  // A lake nobody wrote yet is created empty, so the CLI opens on its tables rather than failing.
  const creator = await LakeSession.open(adapters.lake, { readOnly: false, threads: 1 }).finally(() => adapters.close());
  try {
    await ensureLakeTables(await creator.connect());
  } finally {
    creator.close();
  }
  const init = lakeInitSql(adapters.lake);
  if (flags['print-init']) {
    process.stdout.write(init);
    return;
  }
  const folder = mkdtempSync(join(tmpdir(), 'cryptolake-sql-'));
  const initFile = join(folder, 'init.sql');
  // The init file can hold the S3 secret: readable by this user only, deleted after the session.
  writeFileSync(initFile, init, { mode: 0o600 });
  const cli = process.env.DUCKDB_CLI ?? 'duckdb';
  const result = spawnSync(cli, ['-init', initFile, ...rest], { stdio: 'inherit' });
  rmSync(folder, { recursive: true, force: true });
  if (result.error) {
    // A setting to fix, said in one line: no log, no stack trace.
    throw new LakeError(
      'CONFIG_INVALID',
      `sql: could not run the DuckDB CLI '${cli}': ${result.error.message}. Install it (pip install duckdb-cli==1.5.5) or set DUCKDB_CLI.`,
    );
  }
  process.exitCode = result.status ?? 1;
});

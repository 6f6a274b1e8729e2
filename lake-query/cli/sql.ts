/**
 * `npm run sql`: the DuckDB CLI opened on the lake (its DuckLake catalog attached read-only as
 * `lake` and made the default, so every table is ready: prices, trades, candles_1m, ...). Arguments after `--` go to the CLI (`npm run sql -- -c "SELECT ..."`);
 * `npm run sql -- --print-init` prints the init SQL instead, for any other DuckDB client.
 * The CLI is `DUCKDB_CLI`, else `duckdb` on the PATH.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../core/log.ts';
import { openAdapters } from '../../core/adapters/select.ts';
import { runMain } from '../../core/process.ts';
import { loadLakeQueryConfig } from '../config.ts';
import { lakeInitSql } from './init-sql.ts';

const log = createLogger(process.env.LOG_LEVEL ?? 'warn');

await runMain(log, async () => {
  loadLakeQueryConfig(process.env);
  const adapters = await openAdapters(process.env, log);
  const init = lakeInitSql(adapters.lake);
  await adapters.close();
  const args = process.argv.slice(2);
  if (args.includes('--print-init')) {
    process.stdout.write(init);
    return;
  }
  const folder = mkdtempSync(join(tmpdir(), 'cryptolake-sql-'));
  const initFile = join(folder, 'init.sql');
  // The init file can hold the S3 secret: readable by this user only, deleted after the session.
  writeFileSync(initFile, init, { mode: 0o600 });
  const cli = process.env.DUCKDB_CLI ?? 'duckdb';
  const result = spawnSync(cli, ['-init', initFile, ...args], { stdio: 'inherit' });
  rmSync(folder, { recursive: true, force: true });
  if (result.error) {
    throw new Error(
      `could not run the DuckDB CLI '${cli}': ${result.error.message}. Install it (pip install duckdb-cli==1.5.5) or set DUCKDB_CLI.`,
    );
  }
  process.exitCode = result.status ?? 1;
});

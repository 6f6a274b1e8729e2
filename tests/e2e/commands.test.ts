import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stack } from '../support/stack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command of the project as a process of its own, as `npx tsx <script> <args>` would. */
function run(script: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, ...args],
      { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs an npm script (`npm run -s <name> -- <args>`), as a user types it. */
function npmRun(name: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', name, '--', ...args], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr: stderr.replace(/^npm warn .*\n/gm, '') }),
    );
  });
}

describe('npm run backfill', () => {
  it('prints its usage for --help and -h and exits 0', async () => {
    for (const help of ['--help', '-h']) {
      const { code, stdout, stderr } = await run('backfill.ts', [help]);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /^Usage: npm run backfill -- \[--source NAME\] \[--symbol SYM\] <file>\.\.\.\n/);
      assert.match(stdout, /\n {2}--source NAME {2,}the records' source/);
      assert.match(stdout, /\n {2}-h, --help {2,}show this help and exit\n/);
      assert.equal(stderr, '');
    }
  });

  it('answers npm run backfill -- --help the same way', async () => {
    const { code, stdout } = await npmRun('backfill', ['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /^Usage: npm run backfill/);
  });

  it('refuses an unknown option, a bad value, no file and a missing file in one line on stderr, exit 2', async () => {
    const cases: [string[], string][] = [
      [['--foo', 'a.csv'], 'backfill: unknown option --foo (see --help)'],
      [['--symbol', 'B@D', 'a.csv'], 'backfill: option --symbol: "B@D" is not a ticker such as BTC (see --help)'],
      [['--source'], 'backfill: option --source needs a value (see --help)'],
      [[], 'backfill: missing <file>... (see --help)'],
      [['no-such-file.csv'], 'backfill: <file> "no-such-file.csv": no such file (see --help)'],
    ];
    for (const [args, line] of cases) {
      const { code, stdout, stderr } = await run('backfill.ts', args);
      assert.deepEqual({ code, stdout, stderr }, { code: 2, stdout: '', stderr: `${line}\n` }, args.join(' '));
    }
  });
});

describe('npm run sql', () => {
  it('prints its usage for --help, naming its own flag and where the rest goes, and exits 0', async () => {
    const { code, stdout, stderr } = await run('lake-query/cli/sql.ts', ['--help']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^Usage: npm run sql -- \[--print-init\] \[DuckDB CLI arguments\]\n/);
    assert.match(stdout, /\n {2}--print-init {2,}print the init SQL/);
    assert.match(stdout, /\nOther arguments go, in order, to the DuckDB CLI/);
  });

  it('prints the init SQL with --print-init', async () => {
    const lake = await mkdtemp(join(tmpdir(), 'cryptolake-sql-'));
    const { code, stdout, stderr } = await run('lake-query/cli/sql.ts', ['--print-init'], { LAKE_DIR: lake });
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^-- cryptolake: the lake, read-only/);
    assert.match(stdout, /\nATTACH 'ducklake:sqlite:[^']+\/lake\.sqlite' AS lake \(DATA_PATH '[^']+', READ_ONLY\);\nUSE lake;\n$/);
  });

  it('hands every other argument to the DuckDB CLI in order', async () => {
    const { DUCKDB_CLI } = await stack();
    const lake = await mkdtemp(join(tmpdir(), 'cryptolake-sql-'));
    const env = { LAKE_DIR: lake, DUCKDB_CLI };
    const { code, stdout, stderr } = await run(
      'lake-query/cli/sql.ts',
      ['-csv', '-c', 'SELECT 40 + 2 AS answer, count(*) AS rows FROM prices'],
      env,
    );
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^answer,rows\n42,0\n/m);
  });

  it('says in one line when the DuckDB CLI cannot be run', async () => {
    const lake = await mkdtemp(join(tmpdir(), 'cryptolake-sql-'));
    const { code, stderr } = await run('lake-query/cli/sql.ts', ['-c', 'SELECT 1'], { LAKE_DIR: lake, DUCKDB_CLI: '/nonexistent/duckdb' });
    assert.equal(code, 1);
    assert.match(stderr, /^sql: could not run the DuckDB CLI '\/nonexistent\/duckdb': .*set DUCKDB_CLI\.\n$/);
  });
});

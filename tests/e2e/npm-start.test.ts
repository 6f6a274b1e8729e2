import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../core/testing/wait.ts';
import { startPart } from '../support/process.ts';
import { stack } from '../support/stack.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** `npm run sql -- -c <sql>` on the lake of `env`, as a user types it: the DuckDB CLI's CSV answer. */
async function sql(env: Record<string, string>, query: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'lake-query/cli/sql.ts', '-csv', '-noheader', '-c', query], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  return stdout.trim().split('\n').at(-1)!;
}

describe('npm start', () => {
  it('serves the page, answers npm run sql while it writes, agrees with the API through npm run compact, and Ctrl-C leaves every record in the lake', async () => {
    const services = await stack();
    const lakeDir = await mkdtemp(join(tmpdir(), 'cryptolake-start-'));
    const env = { PROVIDERS: 'synthetic', LAKE_DIR: lakeDir, DUCKDB_CLI: services.DUCKDB_CLI };
    const app = startPart('main.ts', { ...env, PORT: '0', POLL_INTERVAL_MS: '100' });
    try {
      const started = await waitFor(() => app.logs.find((line) => typeof line.url === 'string'), 60_000, 'the start line with the URL');
      const url = started.url as string;
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      const apiCount = async (at = '') => {
        const response = await fetch(`${url}/api/sql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sql: `SELECT count(*)::INTEGER AS n FROM prices ${at}` }),
        });
        return ((await response.json()) as { rows: [number][] }).rows[0]![0];
      };
      await waitFor(async () => (await apiCount()) >= 30, 30_000, '30 records in the lake');
      // The DuckDB CLI reads the lake while npm start writes it.
      assert.ok(Number(await sql(env, 'SELECT count(*) FROM prices')) >= 30);
      // Before, during and after a maintenance pass, a fresh DuckDB counts what the API counts (writes paused by a snapshot in time).
      const snapshot = await sql(env, 'SELECT max(snapshot_id) FROM lake.snapshots()');
      const atSnapshot = `SELECT count(*) FROM prices AT (VERSION => ${snapshot})`;
      const before = await sql(env, atSnapshot);
      const compacting = run(process.execPath, ['--import', 'tsx', 'processor/cli/lake.ts', 'compact'], {
        cwd: ROOT,
        env: { ...process.env, ...env },
      });
      const during = await sql(env, atSnapshot);
      const report = JSON.parse((await compacting).stdout) as { failures: string[] };
      assert.deepEqual(report.failures, []);
      assert.deepEqual([await sql(env, atSnapshot), during], [before, before], 'the same rows at one snapshot, whatever maintenance does');
      assert.equal(await apiCount(`AT (VERSION => ${snapshot})`), Number(before), 'the API sees the same rows at that snapshot');
    } finally {
      app.kill('SIGINT');
    }
    assert.equal(await app.exited, 0, app.stderr());
    const stopped = app.logs.find((line) => line.msg === 'Stopped: everything published is in the lake');
    assert.ok(stopped, 'the stop summary was logged');
    const published = stopped.published as number;
    assert.ok(published >= 30);
    const [rows, ids] = (await sql(env, 'SELECT count(*), count(DISTINCT id) FROM prices')).split(',').map(Number);
    assert.equal(rows, published, 'every record published before Ctrl-C is in the lake');
    assert.equal(ids, published, 'and only once');
  });

  it('stops at once with one line naming a bad variable', async () => {
    const app = startPart('main.ts', { PROVIDERS: 'synthetic', POLL_INTERVAL_MS: 'abc' });
    assert.equal(await app.exited, 1);
    const lines = app
      .stderr()
      .trim()
      .split('\n')
      .filter(
        (line) => !/Warning|trace-warnings|a\.co|node >=22|upgrade to node|versions published|To continue|More information/.test(line),
      );
    assert.equal(lines.length, 1, app.stderr());
    assert.match(lines[0]!, /POLL_INTERVAL_MS="abc"/);
  });

  it('refuses to bind beyond loopback without API_TOKEN, in one line naming HOST', async () => {
    const app = startPart('main.ts', { PROVIDERS: 'synthetic', HOST: '0.0.0.0' });
    assert.equal(await app.exited, 1);
    const lines = app
      .stderr()
      .trim()
      .split('\n')
      .filter(
        (line) => !/Warning|trace-warnings|a\.co|node >=22|upgrade to node|versions published|To continue|More information/.test(line),
      );
    assert.equal(lines.length, 1, app.stderr());
    assert.match(lines[0]!, /HOST="0\.0\.0\.0": binding beyond loopback needs API_TOKEN/);
  });

  it('npm run demo: made-up venues stream trades into the synthetic lake, and they refuse to mix with live providers', async () => {
    const lakeDir = await mkdtemp(join(tmpdir(), 'cryptolake-demo-'));
    const app = startPart('main.ts', {
      PROVIDERS: 'synthetic',
      STREAM_DEMO_VENUES: 'true',
      PORT: '0',
      LAKE_DIR: lakeDir,
      FLUSH_INTERVAL_MS: '500',
    });
    try {
      const started = await waitFor(() => app.logs.find((line) => typeof line.url === 'string'), 60_000, 'the start line with the URL');
      const url = started.url as string;
      const markets = await waitFor(
        async () => {
          const body = (await (await fetch(`${url}/api/trade-markets`)).json()) as { markets: { venue: string; trades: number }[] };
          return new Set(body.markets.filter((market) => market.trades > 0).map((market) => market.venue)).size === 3
            ? body.markets
            : undefined;
        },
        30_000,
        'trades of the three demo venues in the lake',
      );
      assert.equal(markets.length, 6, 'BTC and ETH on three venues');
    } finally {
      app.kill('SIGINT');
    }
    assert.equal(await app.exited, 0, app.stderr());

    const mixed = startPart('main.ts', { PROVIDERS: 'coinbase', STREAM_DEMO_VENUES: 'true', PORT: '0', LAKE_DIR: lakeDir });
    assert.equal(await mixed.exited, 1);
    assert.match(mixed.stderr(), /STREAM_DEMO_VENUES=true needs PROVIDERS=synthetic/);
  });
});

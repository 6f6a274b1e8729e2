import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { waitFor } from '../../core/testing/wait.ts';
import { startPart } from '../support/process.ts';

describe('npm start', () => {
  it('serves the page with rising row counts, and Ctrl-C leaves every published record in the lake', async () => {
    const lakeDir = await mkdtemp(join(tmpdir(), 'cryptolake-start-'));
    // A long flush interval: whatever is in the lake at the end was written by the Ctrl-C flush.
    const app = startPart('main.ts', {
      PROVIDERS: 'synthetic',
      PORT: '0',
      LAKE_DIR: lakeDir,
      POLL_INTERVAL_MS: '100',
      FLUSH_INTERVAL_MS: '600000',
    });
    try {
      const started = await waitFor(() => app.logs.find((line) => typeof line.url === 'string'), 60_000, 'the start line with the URL');
      const url = started.url as string;
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      await waitFor(
        async () => {
          const health = (await (await fetch(`${url}/api/health`)).json()) as { scraper?: { status?: { published?: number } } };
          return (health.scraper?.status?.published ?? 0) >= 30;
        },
        30_000,
        '30 published records',
      );
    } finally {
      app.kill('SIGINT');
    }
    assert.equal(await app.exited, 0, app.stderr());
    const stopped = app.logs.find((line) => line.msg === 'Stopped: everything published is in the lake');
    assert.ok(stopped, 'the stop summary was logged');
    const published = stopped.published as number;
    assert.ok(published >= 30);

    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    const [row] = (
      await db.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids FROM read_parquet('${lakeDir}/prices/**/*.parquet')`,
      )
    ).getRowObjectsJS();
    db.closeSync();
    instance.closeSync();
    assert.equal(row!.n, published, 'every record published before Ctrl-C is in the lake');
    assert.equal(row!.ids, published, 'and only once');
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

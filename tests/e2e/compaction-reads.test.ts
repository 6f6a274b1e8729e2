import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { silentLogger } from '../../core/log.ts';
import { Compactor } from '../../processor/compactor.ts';
import { runPipeline } from '../support/pipeline.ts';

async function apiCount(apiUrl: string): Promise<{ n: number; ids: number; partitionRows: number }> {
  const response = await fetch(`${apiUrl}/api/sql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql: 'SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids FROM prices' }),
  });
  const body = (await response.json()) as { rows: [number, number][] };
  const [n, ids] = body.rows[0]!;
  const partitions = (await (await fetch(`${apiUrl}/api/partitions`)).json()) as { totals: { rows: number } };
  return { n, ids, partitionRows: partitions.totals.rows };
}

async function rawGlobCount(lakeDir: string): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  const [row] = (
    await db.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${lakeDir}/prices/**/*.parquet')`)
  ).getRowObjectsJS();
  db.closeSync();
  instance.closeSync();
  return row!.n as number;
}

describe('reading the lake while compaction swaps its files', () => {
  it('counts every record once through lake-query before, during and after the swap', async () => {
    const lakeDir = await mkdtemp(join(tmpdir(), 'cryptolake-compaction-'));
    const run = await runPipeline(
      {
        PROVIDERS: 'synthetic',
        SYMBOLS: 'BTC,ETH',
        POLL_INTERVAL_MS: '20',
        FLUSH_INTERVAL_MS: '50',
        FLUSH_MAX_RECORDS: '10',
        LAKE_DIR: lakeDir,
      },
      40,
    );
    try {
      const published = run.published;
      assert.deepEqual(await apiCount(run.apiUrl), { n: published, ids: published, partitionRows: published });

      // Compact, keeping the sources for the grace period: compacted file and sources both exist.
      let now = Date.now();
      const compactor = await Compactor.open({ store: run.adapters.store, log: silentLogger, graceMs: 60_000, now: () => now });
      try {
        for (const day of await compactor.dayFolders('prices')) await compactor.compactDay(day);
        assert.equal(await rawGlobCount(lakeDir), 2 * published, 'a raw glob sees the merged rows twice during the swap');
        assert.deepEqual(await apiCount(run.apiUrl), { n: published, ids: published, partitionRows: published });

        // After the grace period the sweep deletes the sources.
        now += 61_000;
        for (const day of await compactor.dayFolders('prices')) await compactor.compactDay(day);
        assert.equal(await rawGlobCount(lakeDir), published);
        assert.deepEqual(await apiCount(run.apiUrl), { n: published, ids: published, partitionRows: published });
      } finally {
        await compactor.close();
      }
    } finally {
      await run.close();
    }
  });
});

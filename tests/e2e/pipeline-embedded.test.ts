import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertLakeHoldsRun, lakeReader, runPipeline } from '../support/pipeline.ts';

describe('the whole pipeline on embedded defaults', () => {
  it('puts every published record in the lake once, as Snappy Parquet in event-day partitions, and serves it', async () => {
    const lakeDir = await mkdtemp(join(tmpdir(), 'cryptolake-e2e-'));
    const run = await runPipeline(
      {
        PROVIDERS: 'synthetic',
        SYMBOLS: 'BTC,ETH,SOL,DOGE',
        POLL_INTERVAL_MS: '20',
        FLUSH_INTERVAL_MS: '100',
        FLUSH_MAX_RECORDS: '50',
        LAKE_DIR: lakeDir,
      },
      40,
    );
    try {
      assert.ok(run.published >= 160, `published ${run.published}`);
      await assertLakeHoldsRun(run);
      const { db, close } = await lakeReader(run.adapters.lake);
      try {
        const [row] = (
          await db.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM lake.snapshots() WHERE author LIKE 'processor %'`)
        ).getRowObjectsJS();
        assert.ok(Number(row!.n) > 1, `${String(row!.n)} commits: several micro-batches`);
      } finally {
        close();
      }
    } finally {
      await run.close();
    }
  });
});

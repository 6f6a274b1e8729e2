import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertLakeHoldsRun, runPipeline } from '../support/pipeline.ts';

describe('the whole pipeline on embedded defaults', () => {
  it('puts every published record in the lake once, as Snappy Parquet in event-day folders, and serves it', async () => {
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
      const { files } = await assertLakeHoldsRun(run);
      assert.ok(files > 1, 'several micro-batches were written');
    } finally {
      await run.close();
    }
  });
});

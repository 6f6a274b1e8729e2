import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName } from '../../core/testing/wait.ts';
import { assertLakeHoldsRun, runPipeline } from '../support/pipeline.ts';
import { stack } from '../support/stack.ts';

describe('the whole pipeline on Kafka, MinIO and Redis', () => {
  it('puts every published record in the bucket once and lake-query reads it back through httpfs', async () => {
    const services = await stack();
    const run = await runPipeline(
      {
        ...services,
        PROVIDERS: 'synthetic',
        SYMBOLS: 'BTC,ETH,SOL,DOGE',
        POLL_INTERVAL_MS: '50',
        FLUSH_INTERVAL_MS: '300',
        FLUSH_MAX_RECORDS: '50',
        KAFKA_TOPIC: uniqueName('e2e-prices'),
        DEAD_LETTER_TOPIC: uniqueName('e2e-dead'),
        KAFKA_GROUP: uniqueName('e2e-group'),
        S3_PREFIX: uniqueName('e2e'),
      },
      30,
    );
    try {
      assert.ok(run.published >= 120, `published ${run.published}`);
      await assertLakeHoldsRun(run, services.DUCKDB_EXTENSION_DIR);
    } finally {
      await run.close();
    }
  });
});

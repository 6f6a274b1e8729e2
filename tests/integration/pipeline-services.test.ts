import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { uniqueName } from '../../core/testing/wait.ts';
import { assertLakeHoldsRun, runPipeline } from '../support/pipeline.ts';
import { isolatedLake, stack } from '../support/stack.ts';

describe('the whole pipeline on Kafka, MinIO, Redis and a PostgreSQL catalog', () => {
  it('puts every published record in the lake once and lake-query, the DuckDB CLI and the console read it back', async () => {
    const services = await stack();
    const env = {
      ...services,
      PROVIDERS: 'synthetic',
      SYMBOLS: 'BTC,ETH,SOL,DOGE',
      POLL_INTERVAL_MS: '50',
      FLUSH_INTERVAL_MS: '300',
      FLUSH_MAX_RECORDS: '50',
      KAFKA_TOPIC: uniqueName('e2e-prices'),
      DEAD_LETTER_TOPIC: uniqueName('e2e-dead'),
      KAFKA_GROUP: uniqueName('e2e-group'),
      ...isolatedLake('e2e'),
    };
    const run = await runPipeline(env, 30);
    try {
      assert.ok(run.published >= 120, `published ${run.published}`);
      const { rows } = await assertLakeHoldsRun(run);

      // `npm run sql` opens the DuckDB CLI on the same bucket: it must count what the API counts.
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'lake-query/cli/sql.ts', '-csv', '-noheader', '-c', 'SELECT count(*) FROM prices'],
        { cwd: fileURLToPath(new URL('../..', import.meta.url)), env: { ...process.env, ...env } },
      );
      assert.equal(Number(/(\d+)\s*$/.exec(stdout)?.[1]), rows, 'the DuckDB CLI counts the same rows as the API');

      // The SQL console's locked-down DuckDB reads the bucket too.
      const response = await fetch(`${run.apiUrl}/api/sql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sql: 'SELECT count(*)::INTEGER AS n FROM prices' }),
      });
      assert.deepEqual(((await response.json()) as { rows: number[][] }).rows, [[rows]], 'the SQL console counts the same rows');
    } finally {
      await run.close();
    }
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openAdapters } from '../../core/adapters/select.ts';
import { LakeError } from '../../core/errors.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { Lake } from '../../lake-query/lake.ts';
import { LakeFileCheck } from '../../lake-query/file-check.ts';
import { createLakeQueries } from '../../lake-query/queries.ts';
import { FixtureLake } from '../support/fixture-lake.ts';
import { isolatedLake, stack } from '../support/stack.ts';

const DAY_MS = 86_400_000;
const FIRST_DAY = Date.parse('2026-03-01T00:00:00Z');

describe('broken data files on MinIO with a PostgreSQL catalog', () => {
  it('finds a deleted and a truncated object, answers 503-worthy errors naming them relative to the prefix, and clears once they are back', async () => {
    const services = await stack();
    const { KAFKA_BROKERS: _kafka, REDIS_URL: _redis, ...env } = { ...services, ...isolatedLake('lake-files') };
    const adapters = await openAdapters(env, silentLogger);
    const fixture = await FixtureLake.at(adapters.lake);
    const lake = await Lake.open(
      adapters.lake,
      { queryTimeoutMs: 10_000, memoryLimit: '256MB', threads: 1, connections: 2 },
      silentLogger,
      new Metrics(),
    );
    try {
      for (let day = 0; day < 2; day++) {
        await fixture.writePrices(
          Array.from({ length: 20 }, (_, i) => ({ symbol: 'BTC', ts: FIRST_DAY + day * DAY_MS + i * 60_000, price: 100 + i })),
        );
      }
      await fixture.rows(`CALL ducklake_flush_inlined_data('lake')`);
      const keys = (await adapters.store.list('main/prices/')).map((object) => object.key).sort();
      assert.equal(keys.length, 2, keys.join(', '));
      const check = new LakeFileCheck(lake, adapters.store, 0);
      assert.deepEqual(await check.health(), { ok: true, detail: 'every data file the lake lists can be read' });

      const [deleted, truncated] = keys as [string, string];
      const deletedBytes = (await adapters.store.get(deleted))!;
      const truncatedBytes = (await adapters.store.get(truncated))!;
      await adapters.store.delete(deleted);
      await adapters.store.put(truncated, truncatedBytes.subarray(0, 100));
      const health = await check.health();
      assert.equal(health.ok, false);
      assert.match(health.detail, new RegExp(`${deleted.replaceAll('.', '\\.')} \\(missing`));
      assert.match(
        health.detail,
        new RegExp(`${truncated.replaceAll('.', '\\.')} \\(truncated: 100 bytes, the catalog recorded ${truncatedBytes.length}\\)`),
      );
      assert.doesNotMatch(health.detail, /s3:\/\//);

      const queries = createLakeQueries(lake);
      const day = (n: number) => ({
        symbol: 'BTC',
        interval: '1h' as const,
        from: FIRST_DAY + n * DAY_MS + 1,
        to: FIRST_DAY + (n + 1) * DAY_MS,
      });
      for (const n of [0, 1]) {
        await assert.rejects(queries.candles(day(n)), (error: unknown) => {
          assert.ok(error instanceof LakeError && error.code === 'LAKE_FILE_UNREADABLE', String(error));
          assert.match(
            error.message,
            / needs the data file main\/prices\/year=2026\/month=3\/day=\d\/ducklake-[\w-]+\.parquet, which cannot be read/,
          );
          assert.doesNotMatch(error.message, /s3:\/\//);
          return true;
        });
      }
      assert.equal((await queries.partitions()).length, 2, 'the catalog still answers');

      await adapters.store.put(deleted, deletedBytes);
      await adapters.store.put(truncated, truncatedBytes);
      assert.deepEqual(await check.health(), { ok: true, detail: 'every data file the lake lists can be read' });
      assert.equal((await queries.candles(day(1))).candles.length, 1);
    } finally {
      await lake.close();
      await fixture.remove();
      await adapters.close();
    }
  });
});

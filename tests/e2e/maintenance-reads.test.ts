import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LakeSession } from '../../core/adapters/ducklake/session.ts';
import { ensureLakeTables } from '../../core/adapters/ducklake/tables.ts';
import { openAdapters } from '../../core/adapters/select.ts';
import { silentLogger } from '../../core/log.ts';
import { waitFor } from '../../core/testing/wait.ts';
import { lakeInitSql } from '../../lake-query/cli/init-sql.ts';
import { maintainLake } from '../../processor/maintenance.ts';
import { runPipeline } from '../support/pipeline.ts';
import { isolatedLake, stack } from '../support/stack.ts';
import { dataPath } from '../../core/adapters/ducklake/attach.ts';
import { startPart } from '../support/process.ts';

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

/**
 * Writes a lake through the whole pipeline on `env`, then runs maintenance again and again while
 * lake-query and a separate process that attaches the catalog count every dataset.
 */
async function readThroughMaintenance(env: Record<string, string>): Promise<void> {
  {
    const lakeDir = env.LAKE_DIR ?? (await mkdtemp(join(tmpdir(), 'cryptolake-maintenance-')));
    // Many small commits, and prices in files on PostgreSQL too (inlining off for that table, as an
    // operator may set it): small files, partials and inlined rows for maintenance to fold.
    const adapters = await openAdapters({ ...env, LAKE_DIR: lakeDir }, silentLogger);
    const sqliteCatalog = adapters.lake.catalog.kind === 'sqlite';
    const setup = await LakeSession.open(adapters.lake, { readOnly: false, threads: 1 });
    const setupConnection = await setup.connect();
    await ensureLakeTables(setupConnection);
    await setupConnection.run(`CALL lake.set_option('data_inlining_row_limit', 0, table_name => 'prices')`);
    setup.close();
    await adapters.close();
    const run = await runPipeline(
      {
        PROVIDERS: 'synthetic',
        SYMBOLS: 'BTC,ETH',
        POLL_INTERVAL_MS: '20',
        FLUSH_INTERVAL_MS: '50',
        FLUSH_MAX_RECORDS: '10',
        LAKE_DIR: lakeDir,
      },
      60,
    );
    const init = join(lakeDir, 'reader-init.sql');
    await writeFile(init, lakeInitSql(run.adapters.lake));
    const reader = startPart('tests/support/external-reader.ts', {}, [init, '150']);
    const writer = await LakeSession.open(run.adapters.lake, { readOnly: false, threads: 1 });
    try {
      const published = run.published;
      assert.deepEqual(await apiCount(run.apiUrl), { n: published, ids: published, partitionRows: published });
      await waitFor(() => reader.logs.length >= 3, 30_000, 'the external reader answering');

      const connection = await writer.connect();
      const totals = { merged: 0, flushed: 0, files: 0, expired: 0, deleted: 0 };
      // Again and again: snapshots older than 3 s expire, replaced files go after 2 s (far shorter
      // than anyone would run it, far longer than one of the reader's queries).
      for (let pass = 0; pass < 8; pass += 1) {
        const report = await maintainLake(
          connection,
          { snapshotRetentionMs: 3_000, fileCleanupGraceMs: 2_000, rollupsSinceMs: 0 },
          silentLogger,
        );
        assert.deepEqual(report.failures, [], `pass ${pass}`);
        totals.merged += report.rollupGroupsMerged;
        totals.flushed += report.inlinedRowsFlushed;
        totals.files += report.filesMerged;
        totals.expired += report.snapshotsExpired;
        totals.deleted += report.filesDeleted;
        assert.deepEqual(await apiCount(run.apiUrl), { n: published, ids: published, partitionRows: published }, `pass ${pass}`);
        await new Promise((resolve) => setTimeout(resolve, 1_500));
      }
      assert.ok(totals.merged > 0 && totals.flushed + totals.files > 0 && totals.expired > 0, JSON.stringify(totals));
      const samples = reader.logs.length;
      await waitFor(() => reader.logs.length >= samples + 3, 30_000, 'more samples after the last pass');
      const expected = { prices: published, price_ids: published, ticks: published, dead_letters: 0, trades: 0, trade_ids: 0 };
      // DuckLake 1.0 on a SQLite catalog: a reader in another process that queries while
      // ducklake_flush_inlined_data commits misses the rows being flushed for that one query (they
      // have left the catalog and their file is not in the snapshot it read). The candle partials
      // are the inlined table here; the README states the limit. Such a sample may only lack
      // ticks, never hold a row twice, and stays rare; on PostgreSQL every sample is exact.
      const missed = (sample: typeof expected) =>
        sqliteCatalog && sample.ticks < published && JSON.stringify({ ...sample, ticks: published }) === JSON.stringify(expected);
      let flushMisses = 0;
      for (const { started, ended, ...sample } of reader.logs) {
        if (missed(sample as typeof expected)) flushMisses += 1;
        else assert.deepEqual(sample, expected, `every sample of the external reader (${String(started)}..${String(ended)})`);
      }
      assert.ok(flushMisses <= 2, `${flushMisses} samples missed inlined rows being flushed`);
      assert.ok(reader.logs.length >= 20, `${reader.logs.length} samples`);

      // A plain glob over the data folder holds every row in files now, and nothing twice after the cleanup.
      const [glob] = (
        await connection.runAndReadAll(
          `SELECT count(*)::INTEGER AS n FROM read_parquet('${dataPath(run.adapters.lake)}main/prices/**/*.parquet')`,
        )
      ).getRowObjectsJS();
      assert.equal(glob!.n, published);
    } finally {
      reader.kill('SIGKILL');
      writer.close();
      await run.close();
    }
  }
}

describe('reading the lake while maintenance rewrites it', () => {
  it('shows every record once to lake-query and to another process, through merges, expiry and cleanup: SQLite catalog, local folder', async () => {
    await readThroughMaintenance({});
  });

  it('shows every record once to lake-query and to another process, through merges, expiry and cleanup: PostgreSQL catalog, MinIO', async () => {
    const services = await stack();
    await readThroughMaintenance({ ...services, ...isolatedLake('maintenance'), KAFKA_BROKERS: '', REDIS_URL: '' });
  });
});

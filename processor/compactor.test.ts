import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LocalObjectStore } from '../core/adapters/local-fs/object-store.ts';
import { LakeError } from '../core/errors.ts';
import { liveParquetSql, listLiveFiles } from '../core/lake-layout.ts';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import type { ObjectStore } from '../core/ports/object-store.ts';
import { Compactor } from './compactor.ts';
import { pricesDataset } from './datasets.ts';
import { ParquetEncoder } from './parquet.ts';
import { openLakeReader, price, tempLake } from './testing/lake-reader.ts';

const day = 'prices/year=2026/month=11/day=22';
const start = Date.UTC(2026, 10, 22, 10);

/** A store that "crashes" (throws on every call) after `budget` puts and deletes. */
function crashingAfter(store: ObjectStore, budget: number): ObjectStore {
  let left = budget;
  const spend = () => {
    if (left-- <= 0) throw new LakeError('STORE_UNAVAILABLE', 'simulated crash');
  };
  return {
    put: async (key, body) => (spend(), store.put(key, body)),
    delete: async (key) => (spend(), store.delete(key)),
    get: (key) => store.get(key),
    list: (prefix) => store.list(prefix),
    health: () => store.health(),
    close: async () => undefined,
  };
}

async function seed(store: ObjectStore, files: number, perFile: number): Promise<void> {
  const encoder = await ParquetEncoder.open();
  const table = pricesDataset('prices').table;
  for (let f = 0; f < files; f += 1) {
    const rows = Array.from({ length: perFile }, (_, i) => price(['BTC', 'ETH'][i % 2]!, start + (f * perFile + i) * 1000));
    const offsets = `o${String(f * perFile).padStart(12, '0')}-o${String(f * perFile + perFile - 1).padStart(12, '0')}`;
    await store.put(`${day}/part-prices-p0-${offsets}.parquet`, await encoder.encode(table, rows));
  }
  await encoder.close();
}

describe('the compactor', () => {
  it('merges the small files of a day into one, counts it, and sweeps the sources after the grace period', async () => {
    const lake = await tempLake();
    const store = new LocalObjectStore(lake.root);
    const metrics = new Metrics();
    let now = 1_000_000;
    await seed(store, 6, 50);
    const compactor = await Compactor.open({ store, log: silentLogger, metrics, graceMs: 10_000, now: () => now });
    const reader = await openLakeReader(lake.root);
    try {
      const first = await compactor.compactDay(day);
      assert.deepEqual(
        { ...first, dayFolder: undefined },
        { dayFolder: undefined, compactions: 1, filesMerged: 6, rows: 300, deleted: 0, liveFiles: 1 },
      );
      assert.equal((await store.list(`${day}/`)).length, 7, 'sources stay during the grace period');
      now += 10_000;
      const second = await compactor.compactDay(day);
      assert.equal(second.deleted, 6);
      assert.equal(second.compactions, 0, 'a second run has nothing to merge');
      const [row] = await reader.rows(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids FROM ${liveParquetSql(lake.root, 'prices')}`,
      );
      assert.deepEqual(row, { n: 300, ids: 300 });
      const text = await metrics.text();
      assert.match(text, /processor_compactions_total 1/);
      assert.match(text, /processor_compaction_files_merged_total 6/);
    } finally {
      reader.close();
      await compactor.close();
      await lake.cleanup();
    }
  });

  it('leaves every record readable exactly once when it crashes at any step, and a rerun finishes the job', async () => {
    for (let budget = 0; budget <= 12; budget += 1) {
      const lake = await tempLake();
      const store = new LocalObjectStore(lake.root);
      await seed(store, 5, 40);
      // Room for two sources per compacted file: several groups, so crashes fall between them too.
      const targetBytes = Math.ceil(Math.max(...(await store.list(day)).map((object) => object.size)) * 2.5);
      const reader = await openLakeReader(lake.root);
      const check = async (when: string) => {
        const [row] = await reader.rows(
          `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids FROM ${liveParquetSql(lake.root, 'prices')}`,
        );
        assert.deepEqual(row, { n: 200, ids: 200 }, `SQL filter, ${when}, crash after ${budget} writes`);
        const files = (await listLiveFiles(store, 'prices/')).map((key) => reader.file(key)).join(', ');
        const [listed] = await reader.rows(
          `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids FROM read_parquet([${files}])`,
        );
        assert.deepEqual(listed, { n: 200, ids: 200 }, `listed files, ${when}, crash after ${budget} writes`);
      };
      try {
        const crashing = await Compactor.open({ store: crashingAfter(store, budget), log: silentLogger, graceMs: 0, targetBytes });
        await crashing.compactDay(day).catch(() => undefined);
        await crashing.compactDay(day).catch(() => undefined);
        await crashing.close();
        await check('after the crash');
        const rerun = await Compactor.open({ store, log: silentLogger, graceMs: 0, orphanGraceMs: 0, targetBytes: targetBytes * 10 });
        await rerun.compactDay(day);
        await rerun.compactDay(day);
        await rerun.close();
        await check('after a rerun');
        const left = (await store.list(`${day}/`)).map((object) => object.key);
        assert.equal(left.length, 1, `one compacted file remains: ${left.join(' ')}`);
      } finally {
        reader.close();
        await lake.cleanup();
      }
    }
  });
});

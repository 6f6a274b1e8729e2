import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalObjectStore } from './adapters/local-fs/object-store.ts';
import {
  compactedKey,
  compactionId,
  isCompactedKey,
  listLiveFiles,
  liveFiles,
  liveParquetSql,
  markerKey,
  type CompactionMarker,
} from './lake-layout.ts';

const day = 'prices/year=2026/month=11/day=22';
const a = `${day}/part-prices-p0-o000000000000-o000000000009.parquet`;
const b = `${day}/part-prices-p0-o000000000010-o000000000019.parquet`;
const id = compactionId([b, a]);
const c = compactedKey(day, id);
const marker: CompactionMarker = { compacted: c, sources: [a, b], rows: 20, at: 1 };

describe('the live files of a lake', () => {
  it('names a compaction by its sorted sources', () => {
    assert.equal(id, compactionId([a, b]));
    assert.match(c, /\/compacted-[0-9a-f]{16}\.parquet$/);
    assert.ok(isCompactedKey(c));
    assert.ok(!isCompactedKey(a));
    assert.equal(markerKey(day, id), `_compaction/${day}/${id}.json`);
  });

  it('ignores a compacted file without a marker and keeps its sources', () => {
    assert.deepEqual(liveFiles([a, b, c], []), [a, b]);
  });

  it('swaps sources for the compacted file once the marker exists, before and after the sources are deleted', () => {
    assert.deepEqual(liveFiles([a, b, c], [marker]), [c]);
    assert.deepEqual(liveFiles([c], [marker]), [c]);
  });

  it('keeps the sources when the marked compacted file is not in the listing', () => {
    assert.deepEqual(liveFiles([a, b], [marker]), [a, b]);
  });

  it('excludes a source rewritten by a replayed batch after its compaction', () => {
    assert.deepEqual(liveFiles([a, c], [marker]), [c]);
  });

  it('gives DuckDB the same files through the SQL filter, at every step of a compaction', async () => {
    const root = await mkdtemp(join(tmpdir(), 'lake-layout-'));
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    const write = async (key: string, from: number, to: number) => {
      await mkdir(join(root, key, '..'), { recursive: true });
      await db.run(
        `COPY (SELECT 'id-' || i AS id, TIMESTAMP '2026-11-22 10:00:00' AS ts FROM range(${from}, ${to}) t(i)) TO '${join(root, key)}' (FORMAT parquet)`,
      );
    };
    const count = async () => {
      const reader = await db.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids FROM ${liveParquetSql(root, 'prices')}`,
      );
      return reader.getRowObjectsJS()[0];
    };
    try {
      await write(a, 0, 10);
      await write(b, 10, 20);
      assert.deepEqual(await count(), { n: 20, ids: 20 }, 'before compaction');
      await write(c, 0, 20);
      assert.deepEqual(await count(), { n: 20, ids: 20 }, 'compacted file written, no marker');
      await mkdir(join(root, markerKey(day, id), '..'), { recursive: true });
      await writeFile(join(root, markerKey(day, id)), JSON.stringify(marker));
      assert.deepEqual(await count(), { n: 20, ids: 20 }, 'marker written, sources still there');
      await rm(join(root, a));
      assert.deepEqual(await count(), { n: 20, ids: 20 }, 'one source deleted');
      await rm(join(root, b));
      assert.deepEqual(await count(), { n: 20, ids: 20 }, 'sources deleted');
      await write(a, 0, 10);
      assert.deepEqual(await count(), { n: 20, ids: 20 }, 'a source rewritten by a replay');
      assert.deepEqual(await listLiveFiles(new LocalObjectStore(root), 'prices/'), [c]);
    } finally {
      db.closeSync();
      instance.closeSync();
      await rm(root, { recursive: true, force: true });
    }
  });
});

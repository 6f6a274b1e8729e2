import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Batcher, type BatchItem } from './batcher.ts';
import { pricesDataset } from './datasets.ts';

const item: BatchItem = { dataset: pricesDataset('prices'), row: {}, eventTimeMs: 0 };

describe('Batcher', () => {
  it('hands over a batch when it reaches maxRecords and starts the next at the following offset', () => {
    const batcher = new Batcher(3);
    assert.equal(batcher.add('t', 0, 10, item, 100, 0), undefined);
    assert.equal(batcher.add('t', 0, 11, item, 100, 0), undefined);
    const full = batcher.add('t', 0, 12, item, 100, 0);
    assert.deepEqual([full?.firstOffset, full?.lastOffset, full?.items.length], [10, 12, 3]);
    batcher.add('t', 0, 13, item, 100, 5);
    assert.equal(batcher.bufferedRecords, 1);
    assert.equal(batcher.bufferedBytes, 100);
  });

  it('keeps partitions apart and reports batches older than maxAgeMs, oldest first', () => {
    const batcher = new Batcher(100);
    batcher.add('t', 1, 0, item, 10, 50);
    batcher.add('t', 0, 0, item, 10, 20);
    assert.deepEqual(
      batcher.due(60, 30).map((batch) => batch.partition),
      [0],
    );
    assert.deepEqual(
      batcher.due(80, 30).map((batch) => batch.partition),
      [0, 1],
    );
  });

  it('cuts a pinned batch exactly at the pinned offset and never reports it due before', () => {
    const batcher = new Batcher(2);
    batcher.pin('t', 0, 4);
    for (let offset = 0; offset < 4; offset++) assert.equal(batcher.add('t', 0, offset, item, 1, 0), undefined);
    assert.deepEqual(batcher.due(1_000, 1), []);
    const cut = batcher.add('t', 0, 4, item, 1, 0);
    assert.deepEqual([cut?.firstOffset, cut?.lastOffset], [0, 4]);
    assert.equal(batcher.isPinned('t', 0), false);
  });

  it('forgets a revoked partition with its pin', () => {
    const batcher = new Batcher(10);
    batcher.pin('t', 0, 9);
    batcher.add('t', 0, 0, item, 7, 0);
    assert.equal(batcher.drop('t', 0)?.items.length, 1);
    assert.equal(batcher.bufferedBytes, 0);
    assert.equal(batcher.isPinned('t', 0), false);
  });
});

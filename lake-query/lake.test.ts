import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { FixtureLake } from '../tests/support/fixture-lake.ts';
import { Lake } from './lake.ts';
import { SqlSandbox } from './sql-sandbox.ts';

const T = Date.UTC(2026, 2, 2);

describe('the lake as lake-query holds it open', () => {
  it("keeps answering after maintenance dropped catalog tables its attachment knew (a table's old inlined data)", async () => {
    const fixture = await FixtureLake.create();
    // Two schema versions of the table (a column added), rows inlined under each.
    await fixture.writePrices([{ symbol: 'BTC', ts: T, price: 1 }]);
    await fixture.rows('ALTER TABLE lake.prices ADD COLUMN note VARCHAR');
    await fixture.writePrices([{ symbol: 'BTC', ts: T + 1_000, price: 2 }]);
    const lake = await Lake.open(
      fixture.location,
      { queryTimeoutMs: 10_000, memoryLimit: '256MB', threads: 1, connections: 2 },
      silentLogger,
      new Metrics(),
    );
    try {
      assert.deepEqual(await lake.query('count', 'SELECT count(*)::INTEGER AS n FROM prices'), [{ n: 2 }]);
      // Maintenance writes the inlined rows out and expires the old version: its inlined table is dropped.
      await fixture.rows(`CALL ducklake_flush_inlined_data('lake')`);
      await fixture.rows(`CALL ducklake_expire_snapshots('lake', older_than => now())`);
      assert.deepEqual(await lake.query('count', 'SELECT count(*)::INTEGER AS n FROM prices'), [{ n: 2 }]);
      await fixture.writePrices([{ symbol: 'BTC', ts: T + 2_000, price: 3 }]);
      assert.deepEqual(await lake.query('count', 'SELECT count(*)::INTEGER AS n FROM prices'), [{ n: 3 }]);
    } finally {
      await lake.close();
      await fixture.remove();
    }
  });

  it('keeps the SQL console answering after the same', async () => {
    const fixture = await FixtureLake.create();
    await fixture.writePrices([{ symbol: 'BTC', ts: T, price: 1 }]);
    await fixture.rows('ALTER TABLE lake.prices ADD COLUMN note VARCHAR');
    await fixture.writePrices([{ symbol: 'BTC', ts: T + 1_000, price: 2 }]);
    const sandbox = await SqlSandbox.open(fixture.location, { maxRows: 10, timeoutMs: 5_000, memoryLimit: '128MB', threads: 1 });
    try {
      assert.deepEqual((await sandbox.run('SELECT count(*)::INTEGER AS n FROM prices')).rows, [[2]]);
      await fixture.rows(`CALL ducklake_flush_inlined_data('lake')`);
      await fixture.rows(`CALL ducklake_expire_snapshots('lake', older_than => now())`);
      assert.deepEqual((await sandbox.run('SELECT count(*)::INTEGER AS n FROM prices')).rows, [[2]]);
    } finally {
      await sandbox.close();
      await fixture.remove();
    }
  });
});

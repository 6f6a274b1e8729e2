import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { openAdapters } from '../../core/adapters/select.ts';
import { silentLogger } from '../../core/log.ts';
import { lakeReader } from '../support/pipeline.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FILE = fileURLToPath(new URL('../../../shared/data/real-prices/binanceus_BTCUSDT_1m_20230301_20230321.csv', import.meta.url));

async function backfill(lakeDir: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'backfill.ts', FILE], {
    cwd: ROOT,
    env: { ...process.env, LAKE_DIR: lakeDir },
  });
  return stdout;
}

describe('npm run backfill', () => {
  it('imports a real minute file into event-day partitions, and a second run changes nothing', async () => {
    const lakeDir = await mkdtemp(join(tmpdir(), 'cryptolake-backfill-e2e-'));
    assert.match(await backfill(lakeDir), /30,240 records/);
    assert.match(await backfill(lakeDir), /already imported/);

    const adapters = await openAdapters({ LAKE_DIR: lakeDir }, silentLogger);
    const { db, close } = await lakeReader(adapters.lake);
    const [totals] = (
      await db.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids, count(DISTINCT ts::DATE)::INTEGER AS days,
                min(ts)::VARCHAR AS first, max(ts)::VARCHAR AS last
           FROM prices`,
      )
    ).getRowObjectsJS();
    close();
    await adapters.close();
    assert.deepEqual(totals, { n: 30_240, ids: 30_240, days: 21, first: '2023-03-01 00:00:00', last: '2023-03-21 23:59:00' });
  });
});

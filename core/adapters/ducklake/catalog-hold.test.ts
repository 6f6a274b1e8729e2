import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../log.ts';
import { openAdapters } from '../select.ts';
import { CatalogHold } from './catalog-hold.ts';
import { LakeSession } from './session.ts';

interface Checkpoint {
  busy: number;
  log: number;
  checkpointed: number;
}

/**
 * Another process writes a page into the catalog (a table of its own, when `write`) and checkpoints
 * its write-ahead log: `busy` 1 when a reader blocks the mode asked; `log` frames in the log,
 * `checkpointed` of them copied into the file. Another process, as SQLite's locks are per process.
 */
function checkpoint(path: string, mode: 'PASSIVE' | 'TRUNCATE', write: boolean): Checkpoint {
  const script = `
    const { DatabaseSync } = require('node:sqlite');
    const db = new DatabaseSync(process.argv[1]);
    if (process.argv[3] === 'write') {
      db.exec('CREATE TABLE IF NOT EXISTS hold_probe (n INTEGER)');
      db.exec('INSERT INTO hold_probe VALUES (1)');
    }
    const [busy, log, checkpointed] = Object.values(db.prepare('PRAGMA wal_checkpoint(' + process.argv[2] + ')').get());
    process.stdout.write(JSON.stringify({ busy, log, checkpointed }));
    db.close();`;
  return JSON.parse(
    execFileSync(process.execPath, ['-e', script, path, mode, write ? 'write' : 'read'], { encoding: 'utf8' }),
  ) as Checkpoint;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('CatalogHold', () => {
  it('keeps the SQLite catalog open, pins its log only until the next handover, and lets go when stopped', async () => {
    const adapters = await openAdapters({ LAKE_DIR: await mkdtemp(join(tmpdir(), 'cryptolake-hold-')) }, silentLogger);
    assert.equal(adapters.lake.catalog.kind, 'sqlite');
    const path = adapters.lake.catalog.kind === 'sqlite' ? adapters.lake.catalog.path : '';
    (await LakeSession.open(adapters.lake, { readOnly: false, threads: 1 })).close();

    // Unheld, a checkpoint copies every frame and may reset the log.
    const unheld = checkpoint(path, 'PASSIVE', true);
    assert.ok(unheld.log > 0 && unheld.checkpointed === unheld.log, `unheld: ${JSON.stringify(unheld)}`);

    const session = await LakeSession.open(adapters.lake, { readOnly: true, threads: 1 });
    const hold = await CatalogHold.start(path, () => session.connect(), 300);
    try {
      // Held: the hold reads a snapshot, so what is written after it stays in the log...
      const pinned = checkpoint(path, 'PASSIVE', true);
      assert.ok(pinned.checkpointed < pinned.log, `pinned: ${JSON.stringify(pinned)}`);
      assert.equal(checkpoint(path, 'TRUNCATE', false).busy, 1, 'an open reader keeps the log from being reset');
      // ...until a fresh transaction takes the hold over: its snapshot holds those frames.
      await sleep(1_000);
      const handedOver = checkpoint(path, 'PASSIVE', false);
      assert.equal(handedOver.checkpointed, handedOver.log, `after a handover: ${JSON.stringify(handedOver)}`);
      assert.equal(checkpoint(path, 'TRUNCATE', false).busy, 1, 'the catalog is still held after the handover');
    } finally {
      hold.stop();
      session.close();
    }
    const released = checkpoint(path, 'TRUNCATE', false);
    assert.deepEqual({ busy: released.busy, log: released.log }, { busy: 0, log: 0 }, 'nothing holds the catalog once stopped');
  });

  it('holds the catalog of a reader session opened with holdCatalog, and only then', async () => {
    const adapters = await openAdapters({ LAKE_DIR: await mkdtemp(join(tmpdir(), 'cryptolake-hold-')) }, silentLogger);
    const path = adapters.lake.catalog.kind === 'sqlite' ? adapters.lake.catalog.path : '';
    (await LakeSession.open(adapters.lake, { readOnly: false, threads: 1 })).close();
    for (const holdCatalog of [false, true]) {
      const session = await LakeSession.open(adapters.lake, { readOnly: true, holdCatalog, threads: 1 });
      try {
        await (await session.connect()).run('SELECT count(*) FROM lake.snapshots()');
        assert.equal(checkpoint(path, 'TRUNCATE', true).busy, holdCatalog ? 1 : 0, `holdCatalog: ${holdCatalog}`);
      } finally {
        session.close();
      }
    }
  });
});

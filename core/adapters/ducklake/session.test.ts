import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../log.ts';
import { openAdapters } from '../select.ts';
import { LakeSession } from './session.ts';

describe('LakeSession on the embedded SQLite catalog', () => {
  it('leaves the writer and the readers of a process working when another session of it opens and closes (as maintenance does every pass)', async () => {
    const adapters = await openAdapters({ LAKE_DIR: await mkdtemp(join(tmpdir(), 'cryptolake-session-')) }, silentLogger);
    const writer = await LakeSession.open(adapters.lake, { readOnly: false, threads: 1 });
    const reader = await LakeSession.open(adapters.lake, { readOnly: true, threads: 1 });
    try {
      const write = await writer.connect();
      const read = await reader.connect();
      await write.run('CREATE TABLE lake.numbers (n INTEGER)');
      // The writer and the reader work while sessions open and close beside them.
      let inserted = 0;
      let opening = true;
      const writing = (async () => {
        while (opening) await write.run(`INSERT INTO lake.numbers VALUES (${++inserted})`);
      })();
      const reading = (async () => {
        let seen = 0;
        while (opening) {
          const [[count]] = (await read.runAndReadAll('SELECT count(*)::INTEGER FROM lake.numbers')).getRows() as [[number]];
          assert.ok(count >= seen, 'the reader never goes back');
          seen = count;
        }
      })();
      const working = Promise.all([writing, reading]).finally(() => (opening = false));
      const opens = (async () => {
        for (let pass = 0; pass < 30 && opening; pass++) {
          (await LakeSession.open(adapters.lake, { readOnly: false, threads: 1 })).close();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })().finally(() => (opening = false));
      await Promise.all([opens, working]);
      const [[count]] = (await read.runAndReadAll('SELECT count(*)::INTEGER FROM lake.numbers')).getRows() as [[number]];
      assert.equal(count, inserted, 'the reader sees every insert');
    } finally {
      reader.close();
      writer.close();
      await adapters.close();
    }
  });
});

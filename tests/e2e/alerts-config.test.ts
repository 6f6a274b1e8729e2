import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProcessorConfig } from '../../processor/config.ts';

describe('alert configuration', () => {
  it('names the rule and field of a bad inline rule', () => {
    assert.throws(
      () =>
        loadProcessorConfig({
          ALERT_RULES: JSON.stringify([
            { id: 'ok', type: 'move', pct: 1, windowMs: 60_000 },
            { id: 'bad', type: 'move', pct: -1, windowMs: 1 },
          ]),
        }),
      /Invalid configuration: ALERT_RULES: 1\.pct/,
    );
  });

  it('names the file of a rule file that is not JSON, and a duplicate rule id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cryptolake-rules-'));
    try {
      const file = join(dir, 'rules.json');
      await writeFile(file, '[{"id": "a",');
      assert.throws(() => loadProcessorConfig({ ALERT_RULES_FILE: file }), new RegExp(`ALERT_RULES_FILE ${file}: `));
      const rule = { id: 'btc-100k', type: 'price_cross', level: 100_000 };
      await writeFile(file, JSON.stringify([rule, rule]));
      assert.throws(() => loadProcessorConfig({ ALERT_RULES_FILE: file }), /1\.id: duplicate rule id btc-100k/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names a bad webhook URL', () => {
    assert.throws(() => loadProcessorConfig({ ALERT_WEBHOOK_URL: 'not a url' }), /ALERT_WEBHOOK_URL/);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parseStackEnv } from './support/stack.ts';

const run = promisify(execFile);
const STACK_SCRIPT = fileURLToPath(new URL('../infra/local/stack.sh', import.meta.url));
const COMMON = fileURLToPath(new URL('../infra/local/lib/common.sh', import.meta.url));

/** Runs the stack script without starting anything; resolves with its exit code and output. */
async function stackScript(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('bash', [STACK_SCRIPT, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('infra/local/stack.sh as a command line', () => {
  for (const flag of ['--help', '-h', 'help']) {
    it(`prints the usage on stdout and exits 0 for ${flag}`, async () => {
      const result = await stackScript(flag);
      assert.equal(result.code, 0);
      assert.match(result.stdout, /stack\.sh up/);
      assert.match(result.stdout, /eval "\$\(npm run -s stack -- up\)"/);
      assert.equal(result.stderr, '');
    });
  }

  for (const args of [
    ['bogus'],
    ['--bogus'],
    ['up', '--force'],
    ['up', '--monitoring', 'extra'],
    ['start-service', 'grafanna'],
    ['down', '--all'],
    ['restart-service', 'nope'],
    [],
  ]) {
    it(`prints one line on stderr and exits 2 for '${args.join(' ')}'`, async () => {
      const result = await stackScript(...args);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    });
  }

  it('prints settings as export lines that the test helper reads back unchanged', async () => {
    const values = { PLAIN: 'http://127.0.0.1:19000', SPACED: 'postgres:dbname=cryptolake host=127.0.0.1', QUOTED: "it's $HOME" };
    const script = `source '${COMMON}'; ${Object.entries(values)
      .map(([name, value]) => `env_line ${name} '${value.replaceAll("'", "'\\''")}'`)
      .join('; ')}`;
    const { stdout } = await run('bash', ['-c', script]);
    assert.match(stdout, /^export PLAIN=http:\/\/127\.0\.0\.1:19000$/m);
    assert.deepEqual(parseStackEnv(stdout), values);
    const { stdout: evaluated } = await run('bash', ['-c', `eval "$(${script})"; printf '%s|' "$PLAIN" "$SPACED" "$QUOTED"`]);
    assert.equal(evaluated, `${values.PLAIN}|${values.SPACED}|${values.QUOTED}|`);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendChunks } from './bus.ts';

const message = (key: string, bytes: number) => ({ key, value: 'x'.repeat(bytes - key.length) });

test('a publish is cut, in order, into runs of at most the byte limit, keys and values counted', () => {
  const messages = Array.from({ length: 10 }, (_, i) => message(`k${i}`, 100));
  const chunks = sendChunks(messages, 350);
  assert.deepEqual(
    chunks.map((chunk) => chunk.map((m) => m.key)),
    [['k0', 'k1', 'k2'], ['k3', 'k4', 'k5'], ['k6', 'k7', 'k8'], ['k9']],
  );
  assert.deepEqual(chunks.flat(), messages);
});

test('a message larger than the limit goes alone, and bytes are counted in UTF-8', () => {
  const chunks = sendChunks([message('a', 10), message('big', 500), { key: 'é', value: new Uint8Array(8) }, { key: 'b', value: '€€' }], 16);
  assert.deepEqual(
    chunks.map((chunk) => chunk.map((m) => m.key)),
    [['a'], ['big'], ['é'], ['b']],
  );
  assert.deepEqual(sendChunks([], 16), []);
});

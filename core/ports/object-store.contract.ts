import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectStore } from './object-store.ts';
import { uniqueName } from '../testing/wait.ts';

/** The behaviour every object store must show; run against the local folder and S3/MinIO. */
export function objectStoreContract(name: string, makeStore: () => Promise<ObjectStore>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore | undefined;
    const open = async () => (store ??= await makeStore());
    after(async () => store?.close());

    it('reads back exactly the bytes it stored', async () => {
      const s = await open();
      const key = `${uniqueName('contract')}/year=2026/month=11/day=22/a.parquet`;
      const body = new Uint8Array(Array.from({ length: 70_000 }, (_, i) => i % 251));
      await s.put(key, body);
      assert.deepEqual(bytes(await s.get(key)), bytes(body));
    });

    it('returns undefined for a missing key', async () => {
      const s = await open();
      assert.equal(await s.get(`${uniqueName('contract')}/missing`), undefined);
    });

    it('lists every object under a prefix, sorted, with sizes', async () => {
      const s = await open();
      const prefix = uniqueName('contract');
      await s.put(`${prefix}/b/2.txt`, new TextEncoder().encode('bb'));
      await s.put(`${prefix}/a/1.txt`, new TextEncoder().encode('a'));
      await s.put(`${prefix}-other/x.txt`, new TextEncoder().encode('x'));
      const listed = await s.list(`${prefix}/`);
      assert.deepEqual(
        listed.map((o) => [o.key, o.size]),
        [
          [`${prefix}/a/1.txt`, 1],
          [`${prefix}/b/2.txt`, 2],
        ],
      );
      assert.ok(listed.every((o) => o.lastModified > 0));
    });

    it('replaces an object on a second put of the same key', async () => {
      const s = await open();
      const key = `${uniqueName('contract')}/same.bin`;
      await s.put(key, new Uint8Array([1, 2, 3]));
      await s.put(key, new Uint8Array([4]));
      assert.deepEqual(bytes(await s.get(key)), [4]);
      assert.equal((await s.list(key)).length, 1);
    });

    it('deletes, and deleting a missing key succeeds', async () => {
      const s = await open();
      const key = `${uniqueName('contract')}/gone.bin`;
      await s.put(key, new Uint8Array([1]));
      await s.delete(key);
      await s.delete(key);
      assert.equal(await s.get(key), undefined);
    });

    it('reports itself healthy', async () => {
      const s = await open();
      assert.equal((await s.health()).ok, true);
    });
  });
}

function bytes(body: Uint8Array | undefined): number[] | undefined {
  return body && Array.from(body);
}

import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ObjectInfo, ObjectStore } from '../../ports/object-store.ts';
import type { Health } from '../../ports/health.ts';
import { LakeError } from '../../errors.ts';

/**
 * The lake in a local folder. Writes go to a hidden temporary file beside the target and are
 * renamed into place, so readers (DuckDB globs included) never see a partial file.
 */
export class LocalObjectStore implements ObjectStore {
  constructor(readonly root: string) {}

  async put(key: string, body: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    const temporary = join(dirname(path), `.tmp-${randomUUID()}`);
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(temporary, body);
      await rename(temporary, path);
    } catch (cause) {
      await rm(temporary, { force: true });
      throw new LakeError('STORE_WRITE_FAILED', `writing ${body.byteLength} bytes to ${key}`, { cause });
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new LakeError('STORE_UNAVAILABLE', `reading ${key}`, { cause });
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const objects: ObjectInfo[] = [];
    await this.walk(this.root, prefix, objects);
    return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async health(): Promise<Health> {
    try {
      await mkdir(this.root, { recursive: true });
      return { ok: true, detail: `local folder ${this.root}` };
    } catch (cause) {
      return { ok: false, detail: `cannot create ${this.root}: ${(cause as Error).message}` };
    }
  }

  async close(): Promise<void> {}

  private pathOf(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '')) {
      throw new LakeError('STORE_WRITE_FAILED', `invalid object key ${JSON.stringify(key)}`);
    }
    return join(this.root, ...key.split('/'));
  }

  private async walk(folder: string, prefix: string, out: ObjectInfo[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new LakeError('STORE_UNAVAILABLE', `listing ${folder}`, { cause });
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.tmp-')) continue;
      const path = join(folder, entry.name);
      const key = relative(this.root, path).split(sep).join('/');
      // Descend only into folders that can hold keys under the prefix.
      if (entry.isDirectory()) {
        if (prefix.startsWith(`${key}/`) || `${key}/`.startsWith(prefix) || prefix === '') await this.walk(path, prefix, out);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        const info = await stat(path).catch(() => undefined);
        if (info) out.push({ key, size: info.size, lastModified: info.mtimeMs });
      }
    }
  }
}

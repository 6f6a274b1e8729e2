import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore } from '../core/adapters/local-fs/object-store.ts';
import { lakeWriterContract } from './lake-writer.contract.ts';
import { tempLake } from './testing/lake-reader.ts';

lakeWriterContract('SQLite catalog, local folder', {
  location: async () => (await tempLake()).location,
  concurrentWriters: false,
  oldLake: async () => {
    const root = await mkdtemp(join(tmpdir(), 'old-lake-'));
    return { store: new LocalObjectStore(root), root };
  },
});

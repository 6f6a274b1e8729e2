import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { objectStoreContract } from '../../ports/object-store.contract.ts';
import { LocalObjectStore } from './object-store.ts';

objectStoreContract('local folder', async () => new LocalObjectStore(await mkdtemp(join(tmpdir(), 'cryptolake-store-'))));

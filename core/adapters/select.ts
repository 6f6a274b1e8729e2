import { z } from 'zod';
import { resolve } from 'node:path';
import type { Bus } from '../ports/bus.ts';
import type { Cache } from '../ports/cache.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import type { Logger } from '../log.ts';
import { loadConfig, positiveInt } from '../config.ts';
import { lakeLocationSchema, resolveLakeDir, isSyntheticChain } from '../lake-location.ts';
import { MemoryBus } from './memory/bus.ts';
import { MemoryCache } from './memory/cache.ts';
import { LocalObjectStore } from './local-fs/object-store.ts';

/** Where DuckDB finds the lake: a local folder (absolute path) or an S3 bucket. */
export type LakeLocation = { kind: 'local'; root: string; synthetic: boolean };

/** Settings that choose the adapters. Each real service is used when its setting is present. */
export const adapterConfigSchema = lakeLocationSchema.extend({
  busPartitions: positiveInt().default(3).describe('Partitions of a topic created by the embedded bus.'),
});

/** The adapters one process uses, chosen by configuration alone. */
export interface Adapters {
  bus: Bus;
  store: ObjectStore;
  cache: Cache;
  lake: LakeLocation;
  close(): Promise<void>;
}

/**
 * Opens the adapters the environment asks for: the embedded twins by default. In one process
 * (`npm start`) the parts share these instances, so the in-memory bus connects them.
 */
export async function openAdapters(env: Record<string, string | undefined>, log: Logger): Promise<Adapters> {
  const config = loadConfig(adapterConfigSchema, env);
  const root = resolve(resolveLakeDir(config));
  const bus = new MemoryBus({ partitions: config.busPartitions });
  const store = new LocalObjectStore(root);
  const cache = new MemoryCache();
  log.info({ bus: 'memory', store: root, cache: 'memory' }, 'Opened embedded adapters');
  return {
    bus,
    store,
    cache,
    lake: { kind: 'local', root, synthetic: isSyntheticChain(config.providers) },
    async close() {
      await bus.close();
      await store.close();
      await cache.close();
    },
  };
}

export type AdapterConfig = z.infer<typeof adapterConfigSchema>;

import { z } from 'zod';
import { resolve } from 'node:path';
import type { Bus } from '../ports/bus.ts';
import type { Cache } from '../ports/cache.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import type { Logger } from '../log.ts';
import { csvList, loadConfig, positiveInt } from '../config.ts';
import {
  isSyntheticChain,
  lakeLocationSchema,
  resolveCatalog,
  resolveExtensionDir,
  resolveLakeDir,
  type CatalogLocation,
} from '../lake-location.ts';
import { MemoryBus } from './memory/bus.ts';
import { MemoryCache } from './memory/cache.ts';
import { LocalObjectStore } from './local-fs/object-store.ts';
import { KafkaBus } from './kafka/bus.ts';
import { S3ObjectStore } from './s3/object-store.ts';
import { RedisCache } from './redis/cache.ts';

/** What every kind of lake location has: its DuckLake catalog and where DuckDB loads extensions from. */
interface LakeCatalogPart {
  catalog: CatalogLocation;
  /** DuckDB's extension folder (offline), or undefined: DuckDB's own, filled from the internet. */
  extensionDir: string | undefined;
  synthetic: boolean;
}

/**
 * Where the lake is: its catalog, and its data path, a local folder (absolute path) or an S3
 * bucket and prefix.
 */
export type LakeLocation = LakeCatalogPart &
  (
    | { kind: 'local'; root: string }
    | {
        kind: 's3';
        bucket: string;
        /** '' or ending in '/' */
        prefix: string;
        /** host:port of an S3-compatible endpoint, or undefined for AWS S3 */
        endpoint: string | undefined;
        useSsl: boolean;
        region: string;
        accessKeyId: string | undefined;
        secretAccessKey: string | undefined;
      }
  );

/** Settings that choose the adapters: each real service is used when its setting is present. */
export const adapterConfigSchema = lakeLocationSchema.extend({
  kafkaBrokers: csvList().optional().describe('Kafka/Redpanda bootstrap brokers (comma list, host:port). Unset: the in-memory bus.'),
  kafkaPartitions: positiveInt().default(3).describe('Partitions of a topic created when missing (Kafka and the in-memory bus).'),
  kafkaReplicationFactor: z.coerce
    .number()
    .int()
    .min(-1)
    .default(-1)
    .describe("Replication factor of created topics; -1 takes the broker's default."),
  kafkaSessionTimeoutMs: positiveInt()
    .default(30_000)
    .describe(
      'How long a consumer group waits for a silent member before giving its partitions to the others, ms. With KAFKA_INSTANCE_ID a restarted process takes its partitions back at once; without it they stay idle this long after a crash.',
    ),
  kafkaInstanceId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/, 'letters, digits, dot, underscore or dash')
    .optional()
    .describe(
      "This process's stable name in its Kafka consumer groups (static membership, group.instance.id): a process restarted under the same name, after a crash too, gets its partitions back within seconds, without a rebalance of the others. Give every replica its own, unchanged across restarts (the pod or host name). Unset: dynamic members.",
    ),
  kafkaClientId: z.string().default('cryptolake').describe('Kafka client id, seen in broker logs and quotas.'),
  s3Bucket: z.string().optional().describe('S3 bucket of the lake (created when missing). Unset: the local folder LAKE_DIR.'),
  s3Prefix: z
    .string()
    .optional()
    .describe(
      'Key prefix where the lake starts inside the bucket. Default: the bucket root, or `synthetic/` when PROVIDERS includes synthetic.',
    ),
  s3Endpoint: z
    .string()
    .url()
    .optional()
    .describe(
      'Endpoint of an S3-compatible store such as MinIO (e.g. http://127.0.0.1:9000); unset for AWS S3. Uses path-style addressing.',
    ),
  s3Region: z.string().default('us-east-1').describe('S3 region.'),
  awsAccessKeyId: z.string().optional().describe('S3 access key (the standard AWS variable).'),
  awsSecretAccessKey: z.string().optional().describe('S3 secret key (the standard AWS variable).'),
  redisUrl: z.string().optional().describe('Redis URL (redis://host:port) for the shared cache and status. Unset: the in-memory cache.'),
  redisKeyPrefix: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits, dot, underscore, colon or dash')
    .default('cryptolake:')
    .describe(
      'Prefix of every Redis key this deployment writes (shared answers, rate budgets, status, stream checkpoints): deployments sharing one Redis keep apart by it.',
    ),
});
export type AdapterConfig = z.infer<typeof adapterConfigSchema>;

/** The adapters one process uses, chosen by configuration alone. */
export interface Adapters {
  bus: Bus;
  store: ObjectStore;
  cache: Cache;
  lake: LakeLocation;
  /** One line a person reads at start: which technology each port uses. */
  description: string;
  close(): Promise<void>;
}

/**
 * Opens the adapters the environment asks for: the embedded twins by default, Kafka when
 * KAFKA_BROKERS is set, S3 when S3_BUCKET is set, Redis when REDIS_URL is set. In one process
 * (`npm start`) the parts share these instances, so the in-memory bus connects them.
 */
export async function openAdapters(env: Record<string, string | undefined>, log: Logger): Promise<Adapters> {
  const config = loadConfig(adapterConfigSchema, env);
  const synthetic = isSyntheticChain(config.providers);
  const catalogPart = { catalog: resolveCatalog(config), extensionDir: resolveExtensionDir(config), synthetic };
  const bus: Bus = config.kafkaBrokers
    ? new KafkaBus({
        brokers: config.kafkaBrokers,
        clientId: config.kafkaClientId,
        partitions: config.kafkaPartitions,
        replicationFactor: config.kafkaReplicationFactor,
        sessionTimeoutMs: config.kafkaSessionTimeoutMs,
        instanceId: config.kafkaInstanceId,
        log,
      })
    : new MemoryBus({ partitions: config.kafkaPartitions });
  const cache = config.redisUrl ? new RedisCache(config.redisUrl, { keyPrefix: config.redisKeyPrefix }) : new MemoryCache();
  let store: ObjectStore;
  let lake: LakeLocation;
  if (config.s3Bucket) {
    const s3 = new S3ObjectStore({
      bucket: config.s3Bucket,
      prefix: config.s3Prefix ?? (synthetic ? 'synthetic' : ''),
      endpoint: config.s3Endpoint,
      region: config.s3Region,
    });
    await s3.ensureBucket();
    store = s3;
    const endpoint = config.s3Endpoint ? new URL(config.s3Endpoint) : undefined;
    lake = {
      kind: 's3',
      bucket: config.s3Bucket,
      prefix: s3.prefix,
      endpoint: endpoint?.host,
      useSsl: endpoint ? endpoint.protocol === 'https:' : true,
      region: config.s3Region,
      accessKeyId: config.awsAccessKeyId,
      secretAccessKey: config.awsSecretAccessKey,
      ...catalogPart,
    };
  } else {
    const root = resolve(resolveLakeDir(config));
    store = new LocalObjectStore(root);
    lake = { kind: 'local', root, ...catalogPart };
  }
  const description = [
    `bus=${config.kafkaBrokers ? `kafka(${config.kafkaBrokers.join(',')})` : 'memory'}`,
    `lake=${lake.kind === 's3' ? `s3://${lake.bucket}/${lake.prefix}` : lake.root}`,
    `cache=${config.redisUrl ? 'redis' : 'memory'}`,
  ].join(' ');
  log.info(
    { bus: config.kafkaBrokers ? 'kafka' : 'memory', lake: lake.kind, cache: config.redisUrl ? 'redis' : 'memory' },
    `Opened adapters: ${description}`,
  );
  return {
    bus,
    store,
    cache,
    lake,
    description,
    async close() {
      await bus.close();
      await store.close();
      await cache.close();
    },
  };
}

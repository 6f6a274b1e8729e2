import { busContract } from '../../core/ports/bus.contract.ts';
import { cacheContract } from '../../core/ports/cache.contract.ts';
import { objectStoreContract } from '../../core/ports/object-store.contract.ts';
import { KafkaBus } from '../../core/adapters/kafka/bus.ts';
import { S3ObjectStore } from '../../core/adapters/s3/object-store.ts';
import { RedisCache } from '../../core/adapters/redis/cache.ts';
import { silentLogger } from '../../core/log.ts';
import { uniqueName } from '../../core/testing/wait.ts';
import { stack } from '../support/stack.ts';

// The same contract suites as the embedded twins, against the real services.
busContract(
  'kafka',
  async () => {
    const env = await stack();
    return new KafkaBus({ brokers: env.KAFKA_BROKERS.split(','), partitions: 3, log: silentLogger });
  },
  { timeoutMs: 60_000 },
);

// The request versions Redpanda 24 (the compose file's broker) stops at: Fetch 11, OffsetCommit 8.
busContract(
  'kafka, speaking Fetch 11 and OffsetCommit 8',
  async () => {
    const env = await stack();
    return new KafkaBus({
      brokers: env.KAFKA_BROKERS.split(','),
      partitions: 3,
      versions: { maxFetchVersion: 11, maxOffsetCommitVersion: 8 },
      log: silentLogger,
    });
  },
  { timeoutMs: 60_000 },
);

objectStoreContract('s3 (minio)', async () => {
  const env = await stack();
  const store = new S3ObjectStore({
    bucket: env.S3_BUCKET,
    prefix: uniqueName('contract'),
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
  });
  await store.ensureBucket();
  return store;
});

cacheContract('redis', async () => {
  const env = await stack();
  return new RedisCache(env.REDIS_URL, { keyPrefix: `${uniqueName('contract')}:` });
});

import { openAdapters } from '../../core/adapters/select.ts';
import { S3ObjectStore } from '../../core/adapters/s3/object-store.ts';
import { silentLogger } from '../../core/log.ts';
import { lakeWriterContract } from '../../processor/lake-writer.contract.ts';
import { uniqueName } from '../../core/testing/wait.ts';
import { isolatedLake, stack } from '../support/stack.ts';

// The same contract as the embedded SQLite lake, on the shared services: a PostgreSQL catalog
// (a schema of its own per test) and the data in MinIO (a prefix of its own per test).
lakeWriterContract('PostgreSQL catalog, MinIO data', {
  concurrentWriters: true,
  async location() {
    const env = await stack();
    const adapters = await openAdapters({ ...env, ...isolatedLake('lake-contract') }, silentLogger);
    await adapters.close();
    return adapters.lake;
  },
  async oldLake() {
    const env = await stack();
    const prefix = uniqueName('old-lake');
    const store = new S3ObjectStore({ bucket: env.S3_BUCKET, prefix, endpoint: env.S3_ENDPOINT, region: env.S3_REGION });
    return { store, root: `s3://${env.S3_BUCKET}/${prefix}` };
  },
});

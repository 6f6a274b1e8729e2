import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lakeSource, viewSql } from './lake-source.ts';

describe('lake source', () => {
  it('globs a local lake folder without any setup', () => {
    const source = lakeSource({ kind: 'local', root: '/data/lake/', synthetic: false });
    assert.equal(source.glob('prices'), '/data/lake/prices/**/*.parquet');
    assert.equal(source.glob('dead_letters'), '/data/lake/dead-letter/**/*.parquet');
    assert.deepEqual(source.setup, []);
  });

  it('reads an S3 lake through httpfs with a path-style secret for a custom endpoint', () => {
    const source = lakeSource({
      kind: 's3',
      bucket: 'lake',
      prefix: 'synthetic/',
      endpoint: '127.0.0.1:9000',
      useSsl: false,
      region: 'us-east-1',
      accessKeyId: 'minio',
      secretAccessKey: "it's secret",
      synthetic: true,
    });
    assert.equal(source.glob('prices'), 's3://lake/synthetic/prices/**/*.parquet');
    assert.equal(source.describe, 's3://lake/synthetic');
    assert.deepEqual(source.setup.slice(0, 2), ['INSTALL httpfs', 'LOAD httpfs']);
    assert.match(source.setup[2]!, /URL_STYLE 'path', USE_SSL false, ENDPOINT '127\.0\.0\.1:9000', KEY_ID 'minio', SECRET 'it''s secret'/);
  });

  it('defines an empty view with typed columns when a dataset has no files', () => {
    const source = lakeSource({ kind: 'local', root: '/l', synthetic: false });
    assert.match(viewSql(source, 'prices', false), /CAST\(NULL AS TIMESTAMP\) AS "ts".* WHERE false$/);
    assert.match(
      viewSql(source, 'prices', true),
      /read_parquet\('\/l\/prices\/\*\*\/\*\.parquet', filename = true, hive_partitioning = true.*_compaction\/prices/,
    );
  });
});

import assert from 'node:assert/strict';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { openAdapters, type Adapters } from '../../core/adapters/select.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { waitFor } from '../../core/testing/wait.ts';
import { startScraper } from '../../scraper/start.ts';
import { startProcessor } from '../../processor/start.ts';
import { startLakeQuery } from '../../lake-query/server.ts';

/** What one end-to-end run published and where it left the lake. */
export interface PipelineRun {
  published: number;
  symbols: string[];
  adapters: Adapters;
  apiUrl: string;
  /** Stops lake-query and closes the adapters. */
  close(): Promise<void>;
}

/**
 * Runs scraper -> bus -> processor -> lake -> lake-query in this process on the adapters `env`
 * chooses, polls until `minPolls` polls were published, then stops the scraper and drains the
 * processor the way Ctrl-C on `npm start` does. lake-query keeps serving until `close()`.
 */
export async function runPipeline(env: Record<string, string>, minPolls: number): Promise<PipelineRun> {
  const metrics = new Metrics();
  const adapters = await openAdapters(env, silentLogger);
  const processor = await startProcessor(adapters, env, silentLogger, metrics);
  const lakeQuery = await startLakeQuery(adapters, { ...env, PORT: '0' }, silentLogger, metrics);
  const scraper = await startScraper(adapters, env, silentLogger, metrics);
  await waitFor(() => scraper.status().polls >= minPolls, 60_000, `${minPolls} polls`);
  await scraper.stop();
  await processor.drain(60_000);
  await processor.stop();
  const status = scraper.status();
  return {
    published: status.published,
    symbols: status.symbols,
    adapters,
    apiUrl: lakeQuery.url,
    async close() {
      await lakeQuery.close();
      await adapters.close();
    },
  };
}

/** DuckDB set up to read `adapters.lake`, local or S3 (httpfs from DUCKDB_EXTENSION_DIR). */
export async function lakeReader(
  adapters: Adapters,
  extensionDir?: string,
): Promise<{ db: DuckDBConnection; root: string; close(): void }> {
  const instance = await DuckDBInstance.create(':memory:', extensionDir ? { extension_directory: extensionDir } : {});
  const db = await instance.connect();
  const lake = adapters.lake;
  let root: string;
  if (lake.kind === 's3') {
    await db.run('LOAD httpfs');
    await db.run(
      `CREATE SECRET (TYPE s3, KEY_ID '${lake.accessKeyId}', SECRET '${lake.secretAccessKey}', ENDPOINT '${lake.endpoint}', URL_STYLE 'path', USE_SSL ${lake.useSsl}, REGION '${lake.region}')`,
    );
    root = `s3://${lake.bucket}/${lake.prefix}`.replace(/\/$/, '');
  } else {
    root = lake.root;
  }
  return {
    db,
    root,
    close() {
      db.closeSync();
      instance.closeSync();
    },
  };
}

/**
 * The checks a user would make on the lake after a run: every published record is there exactly
 * once, under `prices/year=YYYY/month=MM/day=DD/` matching its UTC event day, Snappy-compressed,
 * with the record's columns and types; and the API serves the same data.
 */
export async function assertLakeHoldsRun(run: PipelineRun, extensionDir?: string): Promise<{ rows: number; files: number }> {
  const { db, root, close } = await lakeReader(run.adapters, extensionDir);
  try {
    const glob = `${root}/prices/**/*.parquet`;
    const [totals] = (
      await db.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids, count(DISTINCT filename)::INTEGER AS files
           FROM read_parquet('${glob}', filename = true)`,
      )
    ).getRowObjectsJS();
    assert.equal(totals!.n, run.published, 'rows in the lake = records published');
    assert.equal(totals!.ids, run.published, 'each record once');

    const misplaced = (
      await db.runAndReadAll(
        `SELECT filename FROM read_parquet('${glob}', filename = true)
          WHERE NOT regexp_matches(filename, '/prices/year=\\d{4}/month=\\d{2}/day=\\d{2}/[^/]+\\.parquet$')
             OR NOT contains(filename, strftime(ts, '/prices/year=%Y/month=%m/day=%d/'))
          LIMIT 5`,
      )
    ).getRowObjectsJS();
    assert.deepEqual(misplaced, [], 'every file sits in the day folder of its rows');

    const codecs = (await db.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata('${glob}')`)).getRowObjectsJS();
    assert.deepEqual(
      codecs.map((row) => row.compression),
      ['SNAPPY'],
    );

    const columns = (await db.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${glob}', hive_partitioning = false)`)).getRowObjectsJS();
    assert.deepEqual(
      columns.map((row) => `${row.column_name} ${row.column_type}`),
      [
        'id VARCHAR',
        'ts TIMESTAMP',
        'symbol VARCHAR',
        'source VARCHAR',
        'price_usd DOUBLE',
        'volume_24h_usd DOUBLE',
        'market_cap_usd DOUBLE',
        'change_24h_pct DOUBLE',
        'ingested_at TIMESTAMP',
      ],
    );

    const latest = (await (await fetch(`${run.apiUrl}/api/latest`)).json()) as { prices: { symbol: string }[] };
    assert.deepEqual(latest.prices.map((price) => price.symbol).sort(), [...run.symbols].sort(), '/api/latest has every symbol');
    const partitions = (await (await fetch(`${run.apiUrl}/api/partitions`)).json()) as { totals: { rows: number; files: number } };
    assert.equal(partitions.totals.rows, run.published, '/api/partitions counts every row');
    return { rows: totals!.n as number, files: totals!.files as number };
  } finally {
    close();
  }
}

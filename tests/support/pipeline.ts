import assert from 'node:assert/strict';
import type { DuckDBConnection } from '@duckdb/node-api';
import { LakeSession } from '../../core/adapters/ducklake/session.ts';
import { openAdapters, type Adapters, type LakeLocation } from '../../core/adapters/select.ts';
import { prices } from '../../core/datasets/index.ts';
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

/**
 * A fresh DuckDB that attaches the lake's catalog read-only, as any DuckDB client following the
 * README would (`npm run sql -- --print-init`): it checks the lake through DuckLake itself, not
 * through the project's queries.
 */
export async function lakeReader(lake: LakeLocation): Promise<{ db: DuckDBConnection; close(): void }> {
  const session = await LakeSession.open(lake, { readOnly: true, threads: 2 });
  const db = await session.connect();
  await db.run('USE lake');
  return { db, close: () => session.close() };
}

/**
 * The checks a user would make on the lake after a run: every published record is in `prices`
 * exactly once, each data file sits in the partition folder of its rows' UTC day, Snappy-compressed,
 * with the record's columns and types; and the API serves the same data.
 */
export async function assertLakeHoldsRun(run: PipelineRun): Promise<{ rows: number; files: number }> {
  const { db, close } = await lakeReader(run.adapters.lake);
  const rows = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjectsJS();
  try {
    await flushInlined(run.adapters.lake);
    const [totals] = await rows(`SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids FROM prices`);
    assert.equal(totals!.n, run.published, 'rows in the lake = records published');
    assert.equal(totals!.ids, run.published, 'each record once');

    const files = (await rows(`SELECT data_file FROM ducklake_list_files('lake', 'prices')`)).map((row) => String(row.data_file));
    assert.ok(files.length > 0, 'the rows are in data files');
    const list = files.map((file) => `'${file}'`).join(', ');
    const misplaced = await rows(
      `SELECT filename FROM read_parquet([${list}], filename = true)
        WHERE NOT regexp_matches(filename, '/main/prices/year=\\d{4}/month=\\d{1,2}/day=\\d{1,2}/[^/]+\\.parquet$')
           OR NOT contains(filename, '/year=' || year(ts) || '/month=' || month(ts) || '/day=' || day(ts) || '/')
        LIMIT 5`,
    );
    assert.deepEqual(misplaced, [], 'every file sits in the day partition of its rows');
    const codecs = await rows(`SELECT DISTINCT compression FROM parquet_metadata([${list}])`);
    assert.deepEqual(
      codecs.map((row) => row.compression),
      ['SNAPPY'],
    );
    // Files of inlined rows written out keep DuckLake's row lineage in two internal columns.
    const columns = await rows(`DESCRIBE SELECT * FROM read_parquet([${list}], hive_partitioning = false, union_by_name = true)`);
    assert.deepEqual(
      columns.map((row) => `${row.column_name} ${row.column_type}`).filter((column) => !column.startsWith('_ducklake_internal_')),
      prices.columns.map(([name, type]) => `${name} ${type}`),
    );

    const latest = (await (await fetch(`${run.apiUrl}/api/latest`)).json()) as { prices: { symbol: string }[] };
    assert.deepEqual(latest.prices.map((price) => price.symbol).sort(), [...run.symbols].sort(), '/api/latest has every symbol');
    const partitions = (await (await fetch(`${run.apiUrl}/api/partitions`)).json()) as { totals: { rows: number; files: number } };
    assert.equal(partitions.totals.rows, run.published, '/api/partitions counts every row');
    return { rows: totals!.n as number, files: files.length };
  } finally {
    close();
  }
}

/** Writes the rows still inlined in the catalog out to data files, as maintenance does. */
export async function flushInlined(lake: LakeLocation): Promise<void> {
  const writer = await LakeSession.open(lake, { readOnly: false, threads: 1 });
  try {
    await (await writer.connect()).run(`CALL ducklake_flush_inlined_data('lake')`);
  } finally {
    writer.close();
  }
}

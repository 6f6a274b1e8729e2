import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { toPriceRecord, type PriceRecord } from '../../core/records/price.ts';

/** A temporary lake folder for one test, removed by `cleanup`. */
export async function tempLake(): Promise<{ root: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'processor-test-'));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Reads a lake folder back with DuckDB, as lake-query would; for tests only. */
export async function openLakeReader(root: string) {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  return {
    /** `read_parquet` of every file of a dataset, with the hive columns. */
    dataset: (folder: string) => `read_parquet('${join(root, folder)}/**/*.parquet', hive_partitioning=true)`,
    file: (key: string) => `'${join(root, ...key.split('/'))}'`,
    async rows(sql: string): Promise<Record<string, unknown>[]> {
      return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    },
    close(): void {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** A valid price record at `ts`. */
export function price(symbol: string, ts: number, source = 'binance'): PriceRecord {
  return toPriceRecord(
    { symbol, source, ts, price_usd: 100 + (ts % 1000) / 10, volume_24h_usd: 1e6, market_cap_usd: null, change_24h_pct: -1.5 },
    ts + 100,
  );
}

/** Bus messages of records, keyed by symbol as the scraper publishes them. */
export function messagesOf(records: object[]): { key: string; value: string }[] {
  return records.map((record) => ({ key: (record as { symbol?: string }).symbol ?? 'x', value: JSON.stringify(record) }));
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LakeSession } from '../../core/adapters/ducklake/session.ts';
import type { LakeLocation } from '../../core/adapters/select.ts';
import { EMBEDDED_CATALOG_FILE, resolveExtensionDir } from '../../core/lake-location.ts';
import { toPriceRecord, type PriceRecord } from '../../core/records/price.ts';

/** A DuckLake lake in a temporary folder for one test (SQLite catalog, local files), removed by `cleanup`. */
export async function tempLake(): Promise<{ root: string; location: LakeLocation; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'processor-test-'));
  const location: LakeLocation = {
    kind: 'local',
    root,
    catalog: { kind: 'sqlite', path: join(root, EMBEDDED_CATALOG_FILE) },
    extensionDir: resolveExtensionDir({ duckdbExtensionDir: process.env.DUCKDB_EXTENSION_DIR }),
    synthetic: false,
  };
  return { root, location, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Reads a lake as any DuckDB that attaches its catalog read-only would; for tests only. */
export async function openLakeReader(location: LakeLocation) {
  const session = await LakeSession.open(location, { readOnly: true, threads: 1 });
  const connection = await session.connect();
  await connection.run('USE lake');
  return {
    async rows(sql: string): Promise<Record<string, unknown>[]> {
      return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    },
    close(): void {
      session.close();
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

import { z } from 'zod';
import type { DuckDBConnection } from '@duckdb/node-api';
import { LAKE, sqlIdent, sqlString } from '../core/adapters/ducklake/attach.ts';
import { alerts, deadLetters, gaps, prices, trades, type IngestedDataset } from '../core/datasets/index.ts';
import type { Logger } from '../core/log.ts';
import type { ObjectStore } from '../core/ports/object-store.ts';
import { commitFlush } from './commit.ts';

/** The table that remembers which files of an old lake were imported, so an import run twice adds nothing. */
const IMPORTED = `${LAKE}.imports.files`;

/** The folders of the previous version's lake and the dataset each one held (rollups are recomputed, not imported). */
const OLD_FOLDERS: readonly [string, IngestedDataset][] = [
  ['prices', prices],
  ['dead-letter', deadLetters],
  ['alerts', alerts],
  ['trades', trades],
  ['gaps', gaps],
];

/** A compaction marker of the previous version: the merged file and the files it replaced. */
const OldMarker = z.object({ compacted: z.string(), sources: z.array(z.string()) });

/** What an import did. */
export interface ImportReport {
  filesRead: number;
  filesSkipped: number;
  rows: Record<string, number>;
  duplicates: Record<string, number>;
}

/**
 * Moves a lake written by the previous version (Parquet under `<dataset>/year=/month=/day=/`, with
 * `_compaction/` markers) into the catalog, day by day: the live files of each day (a compaction's
 * sources once its merged file exists, and no merged file without its marker) are read, their rows
 * deduplicated against the lake by key, inserted with their rollups, and the files recorded, all
 * in one commit per day. A file recorded before is skipped, so an import run twice (or resumed
 * after a crash) adds nothing, and leftovers of the old compactions are never read twice.
 */
export async function importOldLake(
  connection: DuckDBConnection,
  old: { store: ObjectStore; root: string },
  log: Logger,
): Promise<ImportReport> {
  await connection.run(`CREATE SCHEMA IF NOT EXISTS ${LAKE}.imports`);
  await connection.run(`CREATE TABLE IF NOT EXISTS ${IMPORTED} (dataset VARCHAR, file VARCHAR, rows BIGINT, imported_at TIMESTAMP)`);
  const report: ImportReport = { filesRead: 0, filesSkipped: 0, rows: {}, duplicates: {} };
  const done = new Set((await connection.runAndReadAll(`SELECT file FROM ${IMPORTED}`)).getRowObjectsJS().map((row) => String(row.file)));
  for (const [folder, dataset] of OLD_FOLDERS) {
    const files = await liveFiles(old.store, folder);
    const days = new Map<string, string[]>();
    for (const key of files) {
      if (done.has(key)) {
        report.filesSkipped += 1;
        continue;
      }
      const day = key.slice(0, key.lastIndexOf('/'));
      days.set(day, [...(days.get(day) ?? []), key]);
    }
    for (const [day, keys] of [...days].sort()) {
      const paths = keys.map((key) => sqlString(`${old.root.replace(/\/+$/, '')}/${key}`)).join(', ');
      const table = `memory.${sqlIdent(`staged_${dataset.name}`)}`;
      const columns = dataset.columns.map(([name, type]) => `${sqlIdent(name)}::${type} AS ${sqlIdent(name)}`).join(', ');
      await connection.run(
        `CREATE OR REPLACE TABLE ${table} AS SELECT ${columns}, row_number() OVER () AS _order, true AS _valid
           FROM read_parquet([${paths}], union_by_name = true, hive_partitioning = false)`,
      );
      const staged = Number((await connection.runAndReadAll(`SELECT count(*)::DOUBLE AS n FROM ${table}`)).getRowObjectsJS()[0]!.n);
      const record = `INSERT INTO ${IMPORTED} VALUES ${keys.map((key) => `(${sqlString(dataset.name)}, ${sqlString(key)}, NULL, now()::TIMESTAMP)`).join(', ')}`;
      const outcome = await commitFlush(
        connection,
        [],
        [{ dataset, table, rows: staged }],
        { author: 'import', message: `importing ${day}` },
        [record],
      );
      await connection.run(`DROP TABLE ${table}`);
      if (!outcome.ok) continue;
      for (const write of outcome.writes) {
        report.rows[write.dataset] = (report.rows[write.dataset] ?? 0) + write.rows;
        report.duplicates[write.dataset] = (report.duplicates[write.dataset] ?? 0) + write.duplicates;
      }
      report.filesRead += keys.length;
      log.info({ day, files: keys.length, rows: staged }, 'Imported a day of the old lake');
    }
  }
  return report;
}

/** The live files of one dataset folder of the old layout (the rules of its compaction markers). */
async function liveFiles(store: ObjectStore, folder: string): Promise<string[]> {
  const replaced = new Set<string>();
  const committed = new Set<string>();
  const keys = (await store.list(`${folder}/`)).map((object) => object.key).filter((key) => key.endsWith('.parquet'));
  const present = new Set(keys);
  for (const object of await store.list(`_compaction/${folder}/`)) {
    const bytes = object.key.endsWith('.json') ? await store.get(object.key) : undefined;
    if (!bytes) continue;
    let marker;
    try {
      marker = OldMarker.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    } catch {
      continue;
    }
    if (!marker.success) continue;
    committed.add(marker.data.compacted);
    if (present.has(marker.data.compacted)) for (const source of marker.data.sources) replaced.add(source);
  }
  return keys.filter((key) => !replaced.has(key) && (!/\/compacted-[0-9a-f]{16}\.parquet$/.test(key) || committed.has(key))).sort();
}

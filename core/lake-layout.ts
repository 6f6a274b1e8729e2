import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ObjectStore } from './ports/object-store.ts';

/**
 * How compaction shows in the lake, and which files a reader must read.
 *
 * A compaction of a day folder (1) writes `compacted-<id>.parquet` beside its sources, `<id>`
 * fixed by the sorted source keys; (2) writes the marker `_compaction/<day folder>/<id>.json`,
 * the commit point; (3) waits a grace period, then deletes the sources. Markers stay.
 *
 * The live files of a dataset are its Parquet files minus
 * - `compacted-*` files without a marker (a compaction that has not committed, or crashed), and
 * - every file a marker lists as a source, provided that marker's compacted file is present in
 *   the same listing (so a reader never drops sources for a file it cannot see).
 * Replayed processor batches rewrite their own keys; a rewritten key a marker lists stays excluded.
 */

/** The folder of the markers, at the lake root. */
export const COMPACTION_DIR = '_compaction';

/** A compaction's commit record. Keys are relative to the lake root. */
export const CompactionMarker = z.object({
  compacted: z.string().min(1),
  sources: z.array(z.string().min(1)).min(1),
  rows: z.number().int().nonnegative(),
  /** When the marker was written, epoch ms. */
  at: z.number(),
});
export type CompactionMarker = z.infer<typeof CompactionMarker>;

const COMPACTED_NAME = /\/compacted-[0-9a-f]{16}\.parquet$/;

/** True for the name of a compaction's output file. */
export function isCompactedKey(key: string): boolean {
  return COMPACTED_NAME.test(key);
}

/** The compaction id of a set of source keys: 16 hex of the SHA-256 of the sorted keys. */
export function compactionId(sources: readonly string[]): string {
  return createHash('sha256')
    .update([...sources].sort().join('\n'))
    .digest('hex')
    .slice(0, 16);
}

/** `prices/year=2026/month=11/day=22/compacted-<id>.parquet` for sources in that folder. */
export function compactedKey(dayFolder: string, id: string): string {
  return `${dayFolder}/compacted-${id}.parquet`;
}

/** `_compaction/prices/year=2026/month=11/day=22/<id>.json`. */
export function markerKey(dayFolder: string, id: string): string {
  return `${COMPACTION_DIR}/${dayFolder}/${id}.json`;
}

/**
 * The live files among `keys` (Parquet keys of one listing) given the markers read before that
 * listing. Pure: the rule in the module comment.
 */
export function liveFiles(keys: readonly string[], markers: readonly CompactionMarker[]): string[] {
  const present = new Set(keys);
  const committed = new Set<string>();
  const replaced = new Set<string>();
  for (const marker of markers) {
    committed.add(marker.compacted);
    if (!present.has(marker.compacted)) continue;
    for (const source of marker.sources) replaced.add(source);
  }
  return keys.filter((key) => !replaced.has(key) && (!isCompactedKey(key) || committed.has(key)));
}

/** Every readable marker under `_compaction/<prefix>`; an unreadable one is skipped (never half-written: puts are atomic). */
export async function readMarkers(store: ObjectStore, prefix: string): Promise<CompactionMarker[]> {
  const objects = await store.list(`${COMPACTION_DIR}/${prefix}`);
  const markers: CompactionMarker[] = [];
  for (const object of objects) {
    if (!object.key.endsWith('.json')) continue;
    const bytes = await store.get(object.key);
    if (!bytes) continue;
    try {
      const parsed = CompactionMarker.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
      if (parsed.success) markers.push(parsed.data);
    } catch {
      // Not JSON: not a marker of ours.
    }
  }
  return markers;
}

/**
 * The live Parquet files under `prefix` (e.g. `prices/` or one day folder), for an explicit
 * `read_parquet([...])`. Markers are read before the files are listed: with the compactor's
 * grace period before deleting sources, the answer holds each record exactly once.
 */
export async function listLiveFiles(store: ObjectStore, prefix: string): Promise<string[]> {
  const markers = await readMarkers(store, prefix);
  const keys = (await store.list(prefix)).map((object) => object.key).filter((key) => key.endsWith('.parquet'));
  return liveFiles(keys, markers);
}

const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * A DuckDB boolean expression on the `filename` column of
 * `read_parquet('<root>/<dataset>/**\/*.parquet', filename = true)` that keeps only live files.
 * `root` is the lake root as DuckDB names files (`s3://bucket/prefix` or an absolute folder),
 * without a trailing slash. Markers are read with `read_text`, which gives no rows (not an
 * error) when there are none.
 */
export function liveFilesFilterSql(root: string, dataset: string): string {
  const base = `${root}/`;
  const markers =
    `(SELECT ${sqlString(base)} || json_extract_string(content, '$.compacted') AS compacted, ` +
    `list_transform(json_extract_string(content, '$.sources[*]'), lambda s: ${sqlString(base)} || s) AS sources ` +
    `FROM read_text(${sqlString(`${base}${COMPACTION_DIR}/${dataset}/**/*.json`)}))`;
  const present = `(SELECT file FROM glob(${sqlString(`${base}${dataset}/**/compacted-*.parquet`)}))`;
  return (
    `(filename NOT IN (SELECT unnest(sources) FROM ${markers} WHERE compacted IN ${present}) ` +
    `AND (NOT regexp_matches(filename, '/compacted-[0-9a-f]{16}\\.parquet$') OR filename IN (SELECT compacted FROM ${markers})))`
  );
}

/**
 * A DuckDB table expression over the live files of a dataset, with hive columns and without the
 * `filename` column: `SELECT count(*) FROM ${liveParquetSql(root, 'prices')}`.
 */
export function liveParquetSql(root: string, dataset: string): string {
  const glob = sqlString(`${root}/${dataset}/**/*.parquet`);
  return (
    `(SELECT * EXCLUDE (filename) FROM read_parquet(${glob}, filename = true, hive_partitioning = true, ` +
    `hive_types = {'year': INTEGER, 'month': INTEGER, 'day': INTEGER}) WHERE ${liveFilesFilterSql(root, dataset)})`
  );
}

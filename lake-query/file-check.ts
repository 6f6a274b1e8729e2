import type { ObjectStore } from '../core/ports/object-store.ts';
import type { Health } from '../core/ports/health.ts';
import { messageOf } from '../core/errors.ts';
import { hidePath, type BrokenFileReport, type BrokenFiles } from './broken-files.ts';
import type { CatalogRef } from './catalog-stats.ts';
import type { Row } from './lake.ts';

/** What the check needs of the lake: its catalog, its data path and its broken-file registry. */
export interface CheckedLake {
  query(what: string, sql: string, params?: Record<string, string>): Promise<Row[]>;
  catalog: CatalogRef;
  dataPath: string;
  files: BrokenFiles;
}

/** One live data file as the catalog lists it. */
interface ListedFile {
  table: string;
  /** relative to the data path */
  path: string;
  bytes: number;
}

/**
 * The lake's file check, run as a health check: the catalog's live data files (and delete files)
 * against what the data path holds. A file that is missing, or whose size differs from the size
 * the catalog recorded (a truncated or overwritten file), is broken. The catalog is read first and
 * the store listed after, so a file committed meanwhile is seen and a file maintenance retired
 * waits out its cleanup grace period. Runs at most once per `intervalMs`; health checks in between
 * answer from the last run and the files queries reported since.
 */
export class LakeFileCheck {
  private running: Promise<void> | undefined;
  private lastRunAt = Number.NEGATIVE_INFINITY;
  private lastError: string | undefined;

  constructor(
    private readonly lake: CheckedLake,
    private readonly store: Pick<ObjectStore, 'list'>,
    private readonly intervalMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The registry's view, after a fresh check when the last one is older than `intervalMs`. */
  async health(): Promise<Health> {
    if (this.now() - this.lastRunAt >= this.intervalMs) await this.check();
    if (this.lastError !== undefined) return { ok: false, detail: `could not check the data files: ${this.lastError}` };
    return this.lake.files.health();
  }

  /** Runs the check now (or joins the one under way). */
  check(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      this.lastRunAt = this.now();
    });
    return this.running;
  }

  private async run(): Promise<void> {
    try {
      const listed = await this.listed();
      const held = new Map<string, number>();
      for (const prefix of new Set(listed.map((file) => `${file.path.split('/').slice(0, 2).join('/')}/`))) {
        for (const object of await this.store.list(prefix)) held.set(object.key, object.size);
      }
      const found: BrokenFileReport[] = [];
      for (const file of listed) {
        const size = held.get(file.path);
        if (size === undefined) {
          found.push({
            table: file.table,
            path: file.path,
            problem: 'missing: the catalog lists it, the data path does not hold it',
            foundBy: 'check',
          });
        } else if (size !== file.bytes) {
          found.push({
            table: file.table,
            path: file.path,
            problem: `${size < file.bytes ? 'truncated' : 'changed'}: ${size} bytes, the catalog recorded ${file.bytes}`,
            foundBy: 'check',
          });
        }
      }
      const live = new Set(listed.map((file) => file.path));
      await this.lake.files.reconcile(
        found,
        (path) => live.has(path),
        (file) => this.unreadable(file.path),
      );
      this.lastError = undefined;
    } catch (error) {
      this.lastError = hidePath(messageOf(error).split('\n')[0]!, this.lake.dataPath);
    }
  }

  /** The live data and delete files of every table, with the sizes the catalog recorded. */
  private async listed(): Promise<ListedFile[]> {
    const m = this.lake.catalog.metadata;
    const files = (source: string) => `
      SELECT t.table_name, s.path AS schema_path, s.path_is_relative AS schema_relative, t.path AS table_path,
             t.path_is_relative AS table_relative, f.path, f.path_is_relative, f.file_size_bytes::DOUBLE AS bytes
        FROM ${m}.${source} f
        JOIN ${m}.ducklake_table t ON t.table_id = f.table_id AND t.end_snapshot IS NULL
        JOIN ${m}.ducklake_schema s ON s.schema_id = t.schema_id AND s.end_snapshot IS NULL
       WHERE f.end_snapshot IS NULL`;
    const rows = await this.lake.query(
      'the list of data files',
      `${files('ducklake_data_file')} UNION ALL ${files('ducklake_delete_file')}`,
    );
    const out: ListedFile[] = [];
    for (const row of rows) {
      const schema = row.schema_relative ? `${this.lake.dataPath}${String(row.schema_path)}` : String(row.schema_path);
      const table = row.table_relative ? `${schema}${String(row.table_path)}` : String(row.table_path);
      const full = row.path_is_relative ? `${table}${String(row.path)}` : String(row.path);
      // Files outside the data path (added from elsewhere) are not this check's to judge.
      if (!full.startsWith(this.lake.dataPath)) continue;
      out.push({ table: String(row.table_name), path: full.slice(this.lake.dataPath.length), bytes: Number(row.bytes) });
    }
    return out;
  }

  /** True when DuckDB still cannot read the file's Parquet footer. */
  private async unreadable(path: string): Promise<boolean> {
    try {
      await this.lake.query('a data file check', 'SELECT count(*) FROM parquet_file_metadata($path)', {
        path: `${this.lake.dataPath}${path}`,
      });
      return false;
    } catch {
      return true;
    }
  }
}

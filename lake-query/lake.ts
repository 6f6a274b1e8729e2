import type { DuckDBValue, JS } from '@duckdb/node-api';
import { LAKE, dataPath, describeLake } from '../core/adapters/ducklake/attach.ts';
import { LakeSession, isStaleAttachment } from '../core/adapters/ducklake/session.ts';
import { ensureLakeTables } from '../core/adapters/ducklake/tables.ts';
import type { LakeLocation } from '../core/adapters/select.ts';
import { LakeError, messageOf } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import { lakeQueryMetrics } from './lake-query-metrics.ts';
import type { Health } from '../core/ports/health.ts';
import { BrokenFiles, brokenFileIn, hidePath } from './broken-files.ts';
import { catalogRef, type CatalogRef } from './catalog-stats.ts';
import { ConnectionPool, DeadlinePassed, interruptAt } from './connection-pool.ts';

export type Row = Record<string, JS>;

export interface LakeOptions {
  queryTimeoutMs: number;
  memoryLimit: string;
  threads: number;
  connections: number;
}

/**
 * The lake as lake-query reads it: one DuckDB with the DuckLake catalog attached read-only as
 * `lake` (and made the default, so `prices` names `lake.prices`). Every query reads the newest
 * committed snapshot, so a commit is visible to the next query, whole or not at all.
 * - `query` runs on a pooled connection and is interrupted after `queryTimeoutMs` (`QUERY_TIMEOUT`);
 *   a failure on a data file that is missing or damaged is a `LAKE_FILE_UNREADABLE` naming the file
 *   relative to the data path (and the file joins `files`); any other failure is a `QUERY_FAILED`
 *   that says what was being asked. No message carries the lake's absolute data path.
 */
export class Lake {
  private reopening: Promise<void> | undefined;

  private constructor(
    private session: LakeSession,
    private pool: ConnectionPool,
    private readonly location: LakeLocation,
    /** Printable place of the lake, for logs and health. */
    readonly describe: string,
    /** Where DuckLake's own tables are, for figures the catalog holds (files, rows and bytes per day). */
    readonly catalog: CatalogRef,
    /** The data path as DuckDB names files (`s3://bucket/prefix/` or an absolute folder, with a trailing slash). */
    readonly dataPath: string,
    /** The data files queries (or the file check) found missing or damaged. */
    readonly files: BrokenFiles,
    private readonly options: LakeOptions,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Opens DuckDB with the memory and thread limits and attaches the lake read-only. A lake that does
   * not exist yet is created first (its tables, empty), so lake-query can start before any processor.
   */
  static async open(location: LakeLocation, options: LakeOptions, log: Logger, metrics: Metrics): Promise<Lake> {
    const creator = await LakeSession.open(location, { readOnly: false, memoryLimit: options.memoryLimit, threads: 1 });
    try {
      await ensureLakeTables(await creator.connect());
    } finally {
      creator.close();
    }
    const { session, pool } = await Lake.attach(location, options);
    const lakeLog = log.child({ component: 'lake' });
    const files = new BrokenFiles(lakeLog);
    const lake = new Lake(
      session,
      pool,
      location,
      describeLake(location),
      catalogRef(location),
      dataPath(location),
      files,
      options,
      metrics,
    );
    lakeLog.info({ lake: lake.describe }, 'Opened the lake in DuckDB');
    return lake;
  }

  /**
   * Runs one parameterised statement and returns its rows as plain JS values (BIGINT as bigint,
   * so cast counts in SQL). `what` names the question in errors: `candles for BTC`.
   */
  async query(what: string, sql: string, params: Record<string, DuckDBValue> = {}): Promise<Row[]> {
    const started = performance.now();
    const { queryDuration: histogram, queryFailures } = lakeQueryMetrics(this.metrics);
    try {
      const rows = await this.run(what, sql, params).catch(async (error: unknown) => {
        if (!isStaleAttachment(error)) throw error;
        await this.reopen();
        return this.run(what, sql, params);
      });
      histogram.observe({ outcome: 'ok' }, (performance.now() - started) / 1000);
      return rows;
    } catch (error) {
      const code = error instanceof LakeError ? error.code : 'QUERY_FAILED';
      histogram.observe({ outcome: code }, (performance.now() - started) / 1000);
      queryFailures.inc({ code });
      throw error;
    }
  }

  /** DuckDB answers and the catalog can be read. */
  async health(): Promise<Health> {
    try {
      const [row] = await this.query(
        'a health check',
        `SELECT version() AS version, max(snapshot_id)::DOUBLE AS snapshot FROM ${LAKE}.snapshots()`,
      );
      return { ok: true, detail: `DuckDB ${String(row?.version)}, lake snapshot ${String(row?.snapshot)} of ${this.describe}` };
    } catch (error) {
      return { ok: false, detail: messageOf(error) };
    }
  }

  async close(): Promise<void> {
    await this.reopening;
    this.pool.close();
    this.session.close();
  }

  private static async attach(location: LakeLocation, options: LakeOptions): Promise<{ session: LakeSession; pool: ConnectionPool }> {
    // Statements run at once on the pool's connections: a SQLite catalog is held open for them (see `CatalogHold`).
    const session = await LakeSession.open(location, {
      readOnly: true,
      holdCatalog: true,
      memoryLimit: options.memoryLimit,
      threads: options.threads,
    });
    return { session, pool: await ConnectionPool.open(session, options.connections, [`USE ${LAKE}`]) };
  }

  /** Attaches the catalog afresh; queries still running on the old attachment fail and are asked again. */
  private reopen(): Promise<void> {
    this.reopening ??= (async () => {
      const fresh = await Lake.attach(this.location, this.options);
      const [session, pool] = [this.session, this.pool];
      [this.session, this.pool] = [fresh.session, fresh.pool];
      pool.close();
      session.close();
    })().finally(() => (this.reopening = undefined));
    return this.reopening;
  }

  private async run(what: string, sql: string, params: Record<string, DuckDBValue>): Promise<Row[]> {
    const deadline = Date.now() + this.options.queryTimeoutMs;
    return this.pool.use(
      deadline,
      async (connection) => {
        try {
          const reader = await interruptAt(connection, deadline, () => connection.runAndReadAll(sql, params));
          return reader.getRowObjectsJS();
        } catch (cause) {
          if (cause instanceof DeadlinePassed)
            throw new LakeError('QUERY_TIMEOUT', `${what} took longer than ${this.options.queryTimeoutMs} ms and was stopped`, { cause });
          const broken = brokenFileIn(cause, this.dataPath);
          if (broken) {
            this.files.report({ ...broken, foundBy: 'query' });
            throw new LakeError(
              'LAKE_FILE_UNREADABLE',
              `${what} needs the data file ${broken.path}, which cannot be read (${broken.problem}); questions that do not need it still answer (see /api/health)`,
              { cause },
            );
          }
          throw new LakeError('QUERY_FAILED', `${what} failed: ${hidePath(messageOf(cause).split('\n')[0]!, this.dataPath)}`, { cause });
        }
      },
      () => new LakeError('QUERY_TIMEOUT', `${what} waited longer than ${this.options.queryTimeoutMs} ms for a free connection`),
    );
  }
}

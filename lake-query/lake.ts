import { DuckDBInstance, type DuckDBConnection, type DuckDBValue, type JS } from '@duckdb/node-api';
import type { LakeLocation } from '../core/adapters/select.ts';
import type { Health } from '../core/ports/health.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import { LakeError, messageOf } from '../core/errors.ts';
import { LAKE_VIEWS, lakeSource, sqlString, viewSql, type Dataset, type LakeSource } from './lake-source.ts';
import { ConnectionPool, DeadlinePassed, interruptAt } from './connection-pool.ts';

export type { Dataset } from './lake-source.ts';
export type Row = Record<string, JS>;

export interface LakeOptions {
  queryTimeoutMs: number;
  memoryLimit: string;
  threads: number;
  connections: number;
  /** Where DuckDB finds extensions (httpfs for S3) without downloading them. */
  extensionDirectory?: string;
}

// A glob that matched nothing, or a file that vanished between listing and reading (compaction).
const FILES_CHANGED = /No files found that match the pattern|No such file or directory|Cannot open file/i;

/**
 * The lake as DuckDB sees it: one in-memory DuckDB database with the views `prices` and
 * `dead_letters` over the lake's Parquet files. The lake is written while it is read, so:
 * - a dataset without files is an empty view with the right columns, re-checked before each query
 *   until files appear; views re-list their files at every query, so new files are always seen;
 * - `query` runs on a pooled connection and is interrupted after `queryTimeoutMs` (`QUERY_TIMEOUT`);
 *   any other failure is a `QUERY_FAILED` that says what was being asked.
 */
export class Lake {
  private readonly ready = new Set<Dataset>();
  private viewsChecked: Promise<void> | undefined;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly admin: DuckDBConnection,
    private readonly pool: ConnectionPool,
    readonly source: LakeSource,
    private readonly options: LakeOptions,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** Opens DuckDB with the memory and thread limits and defines the views. */
  static async open(location: LakeLocation, options: LakeOptions, log: Logger, metrics: Metrics): Promise<Lake> {
    const source = lakeSource(location);
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(':memory:', {
        memory_limit: options.memoryLimit,
        threads: String(options.threads),
        ...(options.extensionDirectory ? { extension_directory: options.extensionDirectory } : {}),
      });
    } catch (cause) {
      throw new LakeError(
        'QUERY_FAILED',
        `opening DuckDB (memory_limit ${options.memoryLimit}, threads ${options.threads}): ${messageOf(cause)}`,
        { cause },
      );
    }
    const admin = await instance.connect();
    try {
      for (const statement of source.setup) await admin.run(statement);
    } catch (cause) {
      admin.closeSync();
      instance.closeSync();
      // First line only: the rest can quote the statement, and the S3 secret with it.
      throw new LakeError('QUERY_FAILED', `preparing DuckDB to read ${source.describe}: ${messageOf(cause).split('\n')[0]}`);
    }
    const pool = await ConnectionPool.open(instance, options.connections);
    const lake = new Lake(instance, admin, pool, source, options, log.child({ component: 'lake' }), metrics);
    await lake.checkViews();
    lake.log.info({ lake: source.describe, ready: [...lake.ready] }, 'Opened the lake in DuckDB');
    return lake;
  }

  /**
   * Runs one parameterised statement and returns its rows as plain JS values (BIGINT as bigint,
   * so cast counts in SQL). `what` names the question in errors: `candles for BTC`.
   */
  async query(what: string, sql: string, params: Record<string, DuckDBValue> = {}): Promise<Row[]> {
    const started = performance.now();
    const histogram = this.metrics.histogram('lake_query_duration_seconds', 'Time to answer a lake query', ['outcome']);
    try {
      const rows = await this.runOnce(what, sql, params).catch(async (error: unknown) => {
        if (!(error instanceof LakeError) || error.code !== 'QUERY_FAILED' || !FILES_CHANGED.test(error.message)) throw error;
        // The files moved under us: list again and ask once more.
        this.ready.clear();
        return this.runOnce(what, sql, params);
      });
      histogram.observe({ outcome: 'ok' }, (performance.now() - started) / 1000);
      return rows;
    } catch (error) {
      const code = error instanceof LakeError ? error.code : 'QUERY_FAILED';
      histogram.observe({ outcome: code }, (performance.now() - started) / 1000);
      this.metrics.counter('lake_query_failures_total', 'Lake queries that failed or timed out', ['code']).inc({ code });
      throw error;
    }
  }

  /** True once the dataset has at least one file (as of the last check). */
  async hasFiles(dataset: Dataset): Promise<boolean> {
    await this.checkViews();
    return this.ready.has(dataset);
  }

  /** DuckDB answers and the lake's folder can be listed. */
  async health(): Promise<Health> {
    try {
      const rows = await this.query(
        'a health check',
        `SELECT version() AS version, count(*)::INTEGER AS files FROM glob(${sqlString(this.source.glob('prices'))})`,
      );
      const row = rows[0] ?? {};
      return { ok: true, detail: `DuckDB ${String(row.version)}, ${String(row.files)} price files in ${this.source.describe}` };
    } catch (error) {
      return { ok: false, detail: messageOf(error) };
    }
  }

  async close(): Promise<void> {
    this.pool.close();
    this.admin.closeSync();
    this.instance.closeSync();
  }

  private async runOnce(what: string, sql: string, params: Record<string, DuckDBValue>): Promise<Row[]> {
    const deadline = Date.now() + this.options.queryTimeoutMs;
    await this.checkViews();
    return this.pool.use(
      deadline,
      async (connection) => {
        try {
          const reader = await interruptAt(connection, deadline, () => connection.runAndReadAll(sql, params));
          return reader.getRowObjectsJS();
        } catch (cause) {
          if (cause instanceof DeadlinePassed)
            throw new LakeError('QUERY_TIMEOUT', `${what} took longer than ${this.options.queryTimeoutMs} ms and was stopped`, { cause });
          throw new LakeError('QUERY_FAILED', `${what} failed: ${messageOf(cause).split('\n')[0]}`, { cause });
        }
      },
      () => new LakeError('QUERY_TIMEOUT', `${what} waited longer than ${this.options.queryTimeoutMs} ms for a free connection`),
    );
  }

  /** Makes each dataset's view real once its first file exists. Cheap once every dataset has files. */
  private checkViews(): Promise<void> {
    if (this.ready.size === LAKE_VIEWS.length) return Promise.resolve();
    // One check at a time: concurrent queries share it instead of racing to replace the views.
    this.viewsChecked ??= this.defineViews().finally(() => {
      this.viewsChecked = undefined;
    });
    return this.viewsChecked;
  }

  private async defineViews(): Promise<void> {
    for (const dataset of LAKE_VIEWS) {
      if (this.ready.has(dataset)) continue;
      try {
        const found = await this.admin.runAndReadAll(`SELECT 1 FROM glob(${sqlString(this.source.glob(dataset))}) LIMIT 1`);
        const hasFiles = found.currentRowCount > 0;
        await this.admin.run(viewSql(this.source, dataset, hasFiles));
        if (hasFiles) {
          this.ready.add(dataset);
          this.log.info({ dataset }, 'Found the first files of a dataset');
        }
      } catch (cause) {
        throw new LakeError(
          'QUERY_FAILED',
          `defining the view ${dataset} over ${this.source.glob(dataset)}: ${messageOf(cause).split('\n')[0]}`,
          { cause },
        );
      }
    }
  }
}

import { describeLake } from '../core/adapters/ducklake/attach.ts';
import type { LakeLocation } from '../core/adapters/select.ts';
import { LakeError, messageOf } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import type { ConsoleAnswer } from './console/protocol.ts';
import { WorkerPool } from './console/worker-pool.ts';
import { WorkerProcess } from './console/worker-process.ts';

export { lockdownSql } from './console/lockdown.ts';

/** Limits of the SQL console; the optional ones have the defaults of `lake-query/config.ts`. */
export interface SqlSandboxOptions {
  /** Most rows an answer holds (SQL_MAX_ROWS). */
  maxRows: number;
  /** Longest a query runs, in ms (SQL_TIMEOUT_MS). */
  timeoutMs: number;
  /** Memory one worker may take beyond its idle size, e.g. `256MB` (SQL_MEMORY_LIMIT). */
  memoryLimit: string;
  /** DuckDB threads per worker. */
  threads: number;
  /** Most bytes of rows, as JSON, an answer holds (SQL_MAX_BYTES). Default 4 MiB. */
  maxBytes?: number;
  /** Worker processes (SQL_WORKERS). Default 2. */
  workers?: number;
  /** Queries that may wait for a worker (SQL_QUEUE_MAX). Default 4. */
  queueMax?: number;
  /** Longest a query waits for a worker, in ms (SQL_QUEUE_WAIT_MS). Default 10000. */
  queueWaitMs?: number;
  /** After the interrupt at the deadline, ms before the worker is killed. Default 1000. */
  killAfterMs?: number;
  log?: Logger;
  metrics?: Metrics;
}

/** The answer to one user query: columns, rows as JSON values, whether and why rows were cut, and the time it took. */
export interface SqlResult extends ConsoleAnswer {
  elapsedMs: number;
}

/** Longest SQL text accepted, in characters. */
export const MAX_SQL_LENGTH = 20_000;

/** Defaults of the optional limits. */
export const SQL_DEFAULTS = { maxBytes: 4 * 1024 * 1024, workers: 2, queueMax: 4, queueWaitMs: 10_000, killAfterMs: 1_000 } as const;

/** Share of SQL_MEMORY_LIMIT given to DuckDB's own `memory_limit`: its refusals come before the operating system's. */
const DUCKDB_SHARE = 0.75;

/** Longest a worker may take to open the lake, in ms. */
const WORKER_START_TIMEOUT_MS = 60_000;

/**
 * Runs user SQL (`POST /api/sql`) where its memory and time are enforced from outside the server:
 * in a pool of worker processes (`console/`), none of which ever runs a dashboard query. Each worker
 * is a DuckDB with the lake attached read-only, behind two walls:
 * 1. DuckDB locked down before any user text arrives (`console/lockdown.ts`): only the lake's data
 *    path may be read, no other file, URL, ATTACH, INSTALL or LOAD, nothing spills to disk, and
 *    `lock_configuration` so nothing undoes it.
 * 2. Each text is checked twice: its parse tree (`sql-guard.ts`: one SELECT, the lake's tables,
 *    allowed functions by name) and its bound plan (`console/plan-check.ts`: what DuckDB will run,
 *    macros and views expanded, against the same allow-list of `console/functions.ts`).
 * The operating system caps each worker's memory; a worker past the deadline is interrupted, then
 * killed, and replaced. Answers are capped in rows and in bytes and say which cap cut them.
 */
export class SqlSandbox {
  private constructor(
    private readonly pool: WorkerPool,
    private readonly caps: { maxRows: number; maxBytes: number },
  ) {}

  /** Starts the workers; throws `QUERY_FAILED` naming the lake when they cannot open it or cap their memory. */
  static async open(location: LakeLocation, options: SqlSandboxOptions): Promise<SqlSandbox> {
    const memoryBytes = parseSize(options.memoryLimit);
    const settings = {
      location,
      memoryBytes,
      duckdbMemoryLimit: `${Math.floor((memoryBytes * DUCKDB_SHARE) / 1024)}KiB`,
      threads: options.threads,
      startTimeoutMs: WORKER_START_TIMEOUT_MS,
    };
    const limits = {
      workers: options.workers ?? SQL_DEFAULTS.workers,
      queueMax: options.queueMax ?? SQL_DEFAULTS.queueMax,
      queueWaitMs: options.queueWaitMs ?? SQL_DEFAULTS.queueWaitMs,
      timeoutMs: options.timeoutMs,
      killAfterMs: options.killAfterMs ?? SQL_DEFAULTS.killAfterMs,
      memoryLimit: options.memoryLimit,
    };
    const log = (options.log ?? silentLogger).child({ component: 'sql-console' });
    try {
      const pool = await WorkerPool.open(limits, () => WorkerProcess.start(settings), log, options.metrics ?? new Metrics());
      return new SqlSandbox(pool, { maxRows: options.maxRows, maxBytes: options.maxBytes ?? SQL_DEFAULTS.maxBytes });
    } catch (cause) {
      throw new LakeError('QUERY_FAILED', `preparing the SQL console over ${describeLake(location)}: ${messageOf(cause).split('\n')[0]}`, {
        cause,
      });
    }
  }

  /**
   * Checks and runs one query. Rejects with `QUERY_INVALID` (refused, or failed in DuckDB: 400),
   * `QUERY_LIMIT` (past the time or memory limit), `QUERY_BUSY` (no worker free in time),
   * `QUERY_UNAVAILABLE` (no worker could start) or `QUERY_FAILED` (a worker died otherwise).
   */
  async run(sql: string): Promise<SqlResult> {
    if (sql.length > MAX_SQL_LENGTH) throw refused(`the query is ${sql.length} characters long, at most ${MAX_SQL_LENGTH}`);
    if (sql.includes('\u0000')) throw refused('the query holds a NUL character');
    const started = performance.now();
    const answer = await this.pool.run(sql, this.caps);
    return { ...answer, elapsedMs: Math.round(performance.now() - started) };
  }

  /** The workers by state and the queries waiting for one. */
  status(): ReturnType<WorkerPool['status']> {
    return this.pool.status();
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    this.pool.close();
  }
}

/** A console that answers every query with `QUERY_UNAVAILABLE` and the reason, for a server whose workers cannot start. */
export function unavailableConsole(reason: string): Pick<SqlSandbox, 'run' | 'close'> {
  return {
    run: () => Promise.reject(new LakeError('QUERY_UNAVAILABLE', `sql: the SQL console is not available: ${reason}`)),
    close: async () => undefined,
  };
}

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  kib: 1024,
  mb: 1e6,
  mib: 1024 ** 2,
  gb: 1e9,
  gib: 1024 ** 3,
  tb: 1e12,
  tib: 1024 ** 4,
};

/** Bytes of a size as DuckDB reads it: `256MB` is 256 * 10^6, `256MiB` 256 * 2^20. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(text.trim());
  const unit = UNITS[match?.[2]?.toLowerCase() ?? ''];
  if (!match || !unit) throw new LakeError('CONFIG_INVALID', `expected a size such as 256MB, got ${JSON.stringify(text)}`);
  return Math.floor(Number(match[1]) * unit);
}

function refused(reason: string): LakeError {
  return new LakeError('QUERY_INVALID', `sql: ${reason}`);
}

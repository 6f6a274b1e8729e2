import type { DuckDBConnection, Json } from '@duckdb/node-api';
import { LAKE, dataPath, describeLake, sqlString } from '../core/adapters/ducklake/attach.ts';
import { LakeSession, isStaleAttachment } from '../core/adapters/ducklake/session.ts';
import type { LakeLocation } from '../core/adapters/select.ts';
import { LakeError, messageOf } from '../core/errors.ts';
import { ConnectionPool, DeadlinePassed, interruptAt } from './connection-pool.ts';
import { checkParseTree } from './sql-guard.ts';

export interface SqlSandboxOptions {
  maxRows: number;
  timeoutMs: number;
  memoryLimit: string;
  threads: number;
}

/** The answer to one user query: column names and types, rows as JSON values, and whether rows were cut. */
export interface SqlResult {
  columns: { name: string; type: string }[];
  rows: Json[][];
  rowCount: number;
  truncated: boolean;
  maxRows: number;
  elapsedMs: number;
}

/** Longest SQL text accepted, in characters. */
export const MAX_SQL_LENGTH = 20_000;

/**
 * Runs user SQL (`POST /api/sql`) on a DuckDB of its own, apart from the dashboard's, with the lake
 * attached read-only. Two walls:
 * 1. DuckDB is locked down before any user text arrives: only the lake's data path may be read
 *    (`allowed_directories`), `enable_external_access = false` (no other file, no URL, no ATTACH,
 *    no INSTALL/LOAD), no extension auto-install or auto-load, nothing spills to disk, a memory
 *    limit, then `lock_configuration = true` so no SET or PRAGMA undoes it.
 * 2. Each text is parsed first: exactly one statement, of type SELECT, whose parse tree passes
 *    `checkParseTree` (the lake's tables and CTEs only, a few generator table functions, no
 *    settings, nothing of the catalog's own tables).
 * Rejections are `QUERY_INVALID` errors whose message starts with `sql:` and says why.
 */
export class SqlSandbox {
  private reopening: Promise<void> | undefined;

  private constructor(
    private session: LakeSession,
    private pool: ConnectionPool,
    private readonly location: LakeLocation,
    private readonly options: SqlSandboxOptions,
  ) {}

  static async open(location: LakeLocation, options: SqlSandboxOptions): Promise<SqlSandbox> {
    const { session, pool } = await SqlSandbox.lockedDown(location, options);
    return new SqlSandbox(session, pool, location, options);
  }

  /** A DuckDB with the lake attached read-only and wall 1 in place. */
  private static async lockedDown(
    location: LakeLocation,
    options: SqlSandboxOptions,
  ): Promise<{ session: LakeSession; pool: ConnectionPool }> {
    const session = await LakeSession.open(location, { readOnly: true, memoryLimit: options.memoryLimit, threads: options.threads });
    try {
      const admin = await session.connect();
      for (const statement of lockdownSql(location)) await admin.run(statement);
      return { session, pool: await ConnectionPool.open(session, 2, [`USE ${LAKE}`]) };
    } catch (cause) {
      session.close();
      throw new LakeError('QUERY_FAILED', `preparing the SQL sandbox over ${describeLake(location)}: ${messageOf(cause).split('\n')[0]}`);
    }
  }

  /** A locked-down DuckDB afresh (the catalog attached again: see `isStaleAttachment`). */
  private reopen(): Promise<void> {
    this.reopening ??= (async () => {
      const fresh = await SqlSandbox.lockedDown(this.location, this.options);
      const [session, pool] = [this.session, this.pool];
      [this.session, this.pool] = [fresh.session, fresh.pool];
      pool.close();
      session.close();
    })().finally(() => (this.reopening = undefined));
    return this.reopening;
  }

  /** Checks and runs one query; rejects with `QUERY_INVALID` (refused or failed), or `QUERY_TIMEOUT`. */
  async run(sql: string): Promise<SqlResult> {
    return this.runOnce(sql).catch(async (error: unknown) => {
      if (!isStaleAttachment(error)) throw error;
      await this.reopen();
      return this.runOnce(sql);
    });
  }

  private async runOnce(sql: string): Promise<SqlResult> {
    if (sql.length > MAX_SQL_LENGTH) throw refused(`the query is ${sql.length} characters long, at most ${MAX_SQL_LENGTH}`);
    if (sql.includes('\u0000')) throw refused('the query holds a NUL character');
    const started = performance.now();
    const deadline = Date.now() + this.options.timeoutMs;
    return this.pool.use(
      deadline,
      async (connection) => {
        const prepared = await this.check(connection, sql);
        try {
          const reader = await interruptAt(connection, deadline, () => prepared.streamAndReadUntil(this.options.maxRows + 1));
          const rows = reader.getRowsJson();
          const truncated = rows.length > this.options.maxRows;
          const names = reader.columnNames();
          const types = reader.columnTypes().map((type) => type.toString());
          return {
            columns: names.map((name, i) => ({ name, type: types[i] ?? 'UNKNOWN' })),
            rows: truncated ? rows.slice(0, this.options.maxRows) : rows,
            rowCount: Math.min(rows.length, this.options.maxRows),
            truncated,
            maxRows: this.options.maxRows,
            elapsedMs: Math.round(performance.now() - started),
          };
        } catch (cause) {
          if (cause instanceof DeadlinePassed)
            throw new LakeError('QUERY_TIMEOUT', `sql: the query ran longer than ${this.options.timeoutMs} ms and was stopped`);
          throw new LakeError('QUERY_INVALID', `sql: ${firstLine(cause)}`, { cause });
        }
      },
      () => new LakeError('QUERY_TIMEOUT', `sql: waited longer than ${this.options.timeoutMs} ms for a free connection`),
    );
  }

  async close(): Promise<void> {
    await this.reopening;
    this.pool.close();
    this.session.close();
  }

  /** Wall 2: one statement, parsed tree allowed, prepared as a SELECT. */
  private async check(connection: DuckDBConnection, sql: string) {
    const parsed = await connection.runAndReadAll('SELECT json_serialize_sql($sql::VARCHAR) AS tree', { sql });
    const tree = JSON.parse(String(parsed.getRowObjectsJS()[0]?.tree ?? 'null')) as unknown;
    const reason = checkParseTree(tree);
    if (reason) throw refused(reason);
    const extracted = await connection.extractStatements(sql).catch((cause: unknown) => {
      throw refused(firstLine(cause), cause);
    });
    if (extracted.count !== 1) throw refused(`send exactly one statement, got ${extracted.count}`);
    const prepared = await extracted.prepare(0).catch((cause: unknown) => {
      throw refused(firstLine(cause), cause);
    });
    // PRAGMA and SHOW also prepare as SELECT; the parse tree check above already refused them.
    if (prepared.statementType !== STATEMENT_TYPE_SELECT) throw refused('only SELECT and WITH queries are allowed');
    if (prepared.parameterCount > 0) throw refused('the query has parameters ($1, ?); send literal values');
    return prepared;
  }
}

/** `StatementType.SELECT` of the DuckDB C API. */
const STATEMENT_TYPE_SELECT = 1;

/** The settings of wall 1, in order; the last one locks them. */
export function lockdownSql(lake: LakeLocation): string[] {
  return [
    // A prefix, so it covers a local folder and an s3://bucket/prefix/ alike.
    `SET allowed_directories = [${sqlString(dataPath(lake))}]`,
    `SET temp_directory = ''`,
    'SET enable_external_access = false',
    'SET autoinstall_known_extensions = false',
    'SET autoload_known_extensions = false',
    'SET allow_community_extensions = false',
    'SET lock_configuration = true',
  ];
}

function refused(reason: string, cause?: unknown): LakeError {
  return new LakeError('QUERY_INVALID', `sql: ${reason}`, { cause });
}

function firstLine(error: unknown): string {
  return messageOf(error).split('\n')[0]!.slice(0, 300);
}

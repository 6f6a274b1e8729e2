import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { LakeError, messageOf } from '../../errors.ts';
import type { LakeLocation } from '../select.ts';
import { LAKE, attachStatements, describeLake } from './attach.ts';
import { CatalogHold } from './catalog-hold.ts';

/** Errors of a catalog another process is creating or writing at this instant. */
const BUSY = /database is locked|Failed to commit|could not serialize|already exists/i;

/**
 * Errors of a commit (or a maintenance step) that lost a race with another writer of the catalog:
 * SQLite's lock, DuckLake's conflict check, PostgreSQL's serialisation. Nothing was committed; the
 * same work tried again is right (fences decide whether it still may commit).
 */
export const CATALOG_RACE = /Failed to commit|database is locked|conflict|could not serialize|Current transaction is aborted/i;

/** The pause before trying again after the `attempt`-th lost race: a little longer each time, jittered so racers part. */
export function waitAfterRace(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 100));
}

/** Resource limits of one DuckDB instance. */
export interface SessionLimits {
  /** DuckDB `memory_limit`, e.g. `1GB`. */
  memoryLimit?: string;
  threads?: number;
}

/**
 * One DuckDB instance with the lake attached as `lake`: read-write for the processor and the
 * maintenance commands, read-only for readers. Connections come from `connect()`; `close()`
 * closes them all with the instance.
 */
export class LakeSession {
  private readonly connections: DuckDBConnection[] = [];
  private hold: CatalogHold | undefined;

  private constructor(
    readonly instance: DuckDBInstance,
    readonly lake: LakeLocation,
    readonly readOnly: boolean,
  ) {}

  /**
   * Opens DuckDB and attaches the lake. A read-write open of a SQLite catalog creates it when missing.
   * `holdCatalog`: a SQLite catalog is kept open while the session lives (`CatalogHold`), for a
   * reader that runs statements at once. Throws `QUERY_FAILED` naming the lake.
   */
  static async open(lake: LakeLocation, options: { readOnly: boolean; holdCatalog?: boolean } & SessionLimits): Promise<LakeSession> {
    if (!options.readOnly && lake.catalog.kind === 'sqlite') prepareSqliteCatalog(lake.catalog.path);
    const config: Record<string, string> = {};
    if (options.memoryLimit) config.memory_limit = options.memoryLimit;
    if (options.threads) config.threads = String(options.threads);
    const instance = await DuckDBInstance.create(':memory:', config).catch((cause: unknown) => {
      throw new LakeError('QUERY_FAILED', `opening DuckDB: ${messageOf(cause)}`, { cause });
    });
    const session = new LakeSession(instance, lake, options.readOnly);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const setup = await session.connect();
        for (const statement of attachStatements(lake, { readOnly: options.readOnly })) await setup.run(statement);
        if (options.holdCatalog && lake.catalog.kind === 'sqlite')
          session.hold = await CatalogHold.start(lake.catalog.path, () => session.connect());
        return session;
      } catch (cause) {
        // Another process creating the same new catalog holds it for a moment: wait, then attach it.
        if (attempt < 10 && BUSY.test(messageOf(cause))) {
          await waitAfterRace(attempt);
          await (await session.connect()).run(`DETACH DATABASE IF EXISTS ${LAKE}`).catch(() => undefined);
          continue;
        }
        session.close();
        // First line only: the rest can quote the statement, and a secret with it.
        throw new LakeError('QUERY_FAILED', `attaching the lake ${describeLake(lake)}: ${messageOf(cause).split('\n')[0]}`, {
          cause,
          retryable: true,
        });
      }
    }
  }

  /** A new connection to the instance, closed with the session. */
  async connect(): Promise<DuckDBConnection> {
    const connection = await this.instance.connect();
    this.connections.push(connection);
    return connection;
  }

  close(): void {
    this.hold?.stop();
    for (const connection of this.connections.splice(0)) {
      try {
        connection.closeSync();
      } catch {
        // Already closed by its user (a connection pool).
      }
    }
    this.instance.closeSync();
  }
}

/**
 * The embedded catalog is a SQLite file that one process writes while others read it (`npm run
 * sql` beside `npm start`): in WAL mode, readers and the writer do not block each other
 * (measured: without it a reader waited up to 5 s for the writer, with it none failed). WAL mode
 * stays with the file, so this runs only on a new catalog: node's SQLite is another copy of the
 * library than DuckDB's, and its close beside DuckDB's open connections in the same process drops
 * their file locks and deletes the write-ahead log under them ("disk I/O error" from then on).
 */
function prepareSqliteCatalog(path: string): void {
  if (existsSync(path)) return;
  mkdirSync(dirname(path), { recursive: true });
  const database = new DatabaseSync(path);
  try {
    database.exec('PRAGMA journal_mode = WAL');
  } finally {
    database.close();
  }
}

/**
 * True for the error of an attachment whose view of the catalog's own tables went stale: DuckLake
 * 1.0 keeps the names of a table's inlined-data tables per attachment, and once maintenance expired
 * an old one, every query of that attachment fails until the catalog is attached again.
 */
export function isStaleAttachment(error: unknown): boolean {
  const cause = error instanceof Error && error.cause ? error.cause : error;
  return /ducklake_inlined_data_\d+_\d+ does not exist|Catalog Error: Table with name ducklake_/.test(messageOf(cause));
}

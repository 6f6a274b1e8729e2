import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from './attach.ts';

/** How long one transaction holds the catalog before a fresh one takes over, ms. */
const HOLD_HANDOVER_MS = 5_000;

const HOLD = 'lake_catalog_hold';

/**
 * Keeps the embedded catalog (a SQLite file) open for as long as a DuckDB reads it. DuckDB's SQLite
 * extension opens a connection to the file for each transaction and closes it after; when the last
 * one closes, SQLite checkpoints the write-ahead log and removes it, and a statement that opens the
 * file meanwhile waits in SQLite's busy handler. Measured on the 1 B-density benchmark lake: of 30
 * asks of the indicators (two statements at once), 11 took 1.05-1.18 s instead of about 160 ms; with
 * the catalog held, none did.
 *
 * The hold is a transaction of its own that has read the catalog, on a connection of its own. Such a
 * reader pins the write-ahead log at its snapshot (a checkpoint cannot pass it), so every
 * `HOLD_HANDOVER_MS` a fresh transaction on a second connection takes over before the old one
 * ends: the file always has an open connection, and the log is pinned for a few seconds at most.
 */
export class CatalogHold {
  private timer: NodeJS.Timeout | undefined;
  private handover: Promise<void> = Promise.resolve();

  private constructor(
    private holding: DuckDBConnection,
    private spare: DuckDBConnection,
  ) {}

  /** Holds the SQLite catalog at `path` with two connections of the DuckDB that reads it, handing over every `handoverMs`. */
  static async start(path: string, connect: () => Promise<DuckDBConnection>, handoverMs = HOLD_HANDOVER_MS): Promise<CatalogHold> {
    const [holding, spare] = [await connect(), await connect()];
    await holding.run(`ATTACH IF NOT EXISTS ${sqlString(path)} AS ${HOLD} (TYPE sqlite, READ_ONLY)`);
    await hold(holding);
    const catalogHold = new CatalogHold(holding, spare);
    catalogHold.timer = setInterval(() => catalogHold.handOver(), handoverMs);
    catalogHold.timer.unref();
    return catalogHold;
  }

  /** Stops handing over; the held transaction ends when its connection closes with its DuckDB. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** The spare takes the hold, then the holder lets go; if the spare cannot take it, the holder keeps it until the next turn. */
  private handOver(): void {
    this.handover = this.handover.then(async () => {
      try {
        await hold(this.spare);
      } catch {
        await this.spare.run('ROLLBACK').catch(() => undefined);
        return;
      }
      await this.holding.run('COMMIT').catch(() => this.holding.run('ROLLBACK').catch(() => undefined));
      [this.holding, this.spare] = [this.spare, this.holding];
    });
  }
}

/** Begins a transaction on `connection` that reads the held catalog, so its SQLite connection stays open until COMMIT. */
async function hold(connection: DuckDBConnection): Promise<void> {
  await connection.run('BEGIN');
  await connection.run(`SELECT 1 FROM ${HOLD}.ducklake_snapshot LIMIT 0`);
}

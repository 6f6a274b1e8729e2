import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DOUBLE,
  DuckDBDataChunk,
  DuckDBInstance,
  VARCHAR,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { LakeError, messageOf } from '../core/errors.ts';

/**
 * Parquet encoding with an embedded DuckDB (chosen by `bench/parquet-writers.ts`: fastest and
 * smallest files). Rows are appended as whole data chunks to a staging table, then
 * `COPY ... TO (FORMAT parquet, COMPRESSION snappy)` writes the file, sorted.
 */

/** The DuckDB types a dataset column can have in the lake. */
export type ColumnType = 'VARCHAR' | 'DOUBLE' | 'TIMESTAMP' | 'BIGINT';

/**
 * One column of a dataset. `TIMESTAMP` values are epoch ms and are written as microsecond
 * `TIMESTAMP` (no time zone; the instant is UTC by the project's convention). `BIGINT` values are
 * whole numbers below 2^53 (trade ids, counts), given as plain numbers.
 */
export interface Column<Row> {
  name: string;
  type: ColumnType;
  value(row: Row): string | number | null;
}

/** The file layout of a dataset: its columns in file order and the sort order inside a file. */
export interface TableSpec<Row> {
  columns: readonly Column<Row>[];
  sortBy: readonly string[];
}

// Timestamps and BIGINTs are staged as DOUBLE (exact below 2^53) and converted in the COPY query:
// plain numbers fill a chunk far faster than one bigint-backed wrapper object per value.
const STAGE_TYPES: Record<ColumnType, DuckDBType> = { VARCHAR, DOUBLE, TIMESTAMP: DOUBLE, BIGINT: DOUBLE };

/** The expression of the COPY select that turns a staged column into its lake type. */
function lakeValue(column: { name: string; type: ColumnType }): string {
  const name = quoteIdent(column.name);
  if (column.type === 'TIMESTAMP') return `epoch_ms(${name}::BIGINT) AS ${name}`;
  if (column.type === 'BIGINT') return `${name}::BIGINT AS ${name}`;
  return name;
}

/**
 * Encodes rows into Snappy Parquet bytes. Holds one in-memory DuckDB and one connection for its
 * whole life; calls are serialised, so concurrent `encode` calls queue instead of interleaving.
 */
export class ParquetEncoder {
  private queue: Promise<unknown> = Promise.resolve();
  private sequence = 0;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async open(): Promise<ParquetEncoder> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    return new ParquetEncoder(instance, connection);
  }

  /** The Parquet file of `rows`, sorted by `spec.sortBy`. Throws `STORE_WRITE_FAILED` when DuckDB fails. */
  encode<Row>(spec: TableSpec<Row>, rows: readonly Row[], what = 'rows'): Promise<Uint8Array> {
    const run = this.queue.then(() => this.encodeNow(spec, rows, what));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    this.connection.closeSync();
    this.instance.closeSync();
  }

  private async encodeNow<Row>(spec: TableSpec<Row>, rows: readonly Row[], what: string): Promise<Uint8Array> {
    const table = `stage_${++this.sequence}`;
    const file = join(tmpdir(), `cryptolake-${process.pid}-${randomUUID()}.parquet`);
    const columns = spec.columns.map((column) => `${quoteIdent(column.name)} ${STAGE_TYPES[column.type].toString()}`);
    try {
      await this.connection.run(`CREATE TABLE ${table} (${columns.join(', ')})`);
      const appender = await this.connection.createAppender(table);
      try {
        appendRows(appender.appendDataChunk.bind(appender), spec, rows);
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      const select = spec.columns.map(lakeValue).join(', ');
      const order = spec.sortBy.length > 0 ? ` ORDER BY ${spec.sortBy.map(quoteIdent).join(', ')}` : '';
      await this.connection.run(
        `COPY (SELECT ${select} FROM ${table}${order}) TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION snappy)`,
      );
      return await readFile(file);
    } catch (cause) {
      throw new LakeError('STORE_WRITE_FAILED', `encoding ${rows.length} ${what} to Parquet: ${messageOf(cause)}`, { cause });
    } finally {
      await this.connection.run(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await rm(file, { force: true });
    }
  }
}

/** Fills data chunks column by column, one DuckDB vector (2048 rows) at a time. */
function appendRows<Row>(append: (chunk: DuckDBDataChunk) => void, spec: TableSpec<Row>, rows: readonly Row[]): void {
  const types = spec.columns.map((column) => STAGE_TYPES[column.type]);
  const vectorSize = 2048;
  for (let start = 0; start < rows.length; start += vectorSize) {
    const slice = rows.slice(start, start + vectorSize);
    const chunk = DuckDBDataChunk.create(types, slice.length);
    chunk.setColumns(spec.columns.map((column) => slice.map((row) => column.value(row) as DuckDBValue)));
    append(chunk);
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

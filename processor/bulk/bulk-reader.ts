import { BIGINT, BLOB, DuckDBBlobValue, DuckDBDataChunk, type DuckDBConnection } from '@duckdb/node-api';
import { sqlIdent, sqlString } from '../../core/adapters/ducklake/attach.ts';
import type { IngestedDataset } from '../../core/datasets/index.ts';
import { canonicalGate, type CanonicalGate } from './canonical-gate.ts';
import { contractSql, type ContractSql } from './contract-sql.ts';
import { recordShape } from './record-shape.ts';

const VECTOR_SIZE = 2048;

/**
 * The bulk path of one dataset: message bytes in, rows with lake types out, decided by DuckDB in
 * one statement. `accepts` is the gate a message must pass to take it (canonical JSON of the
 * record, checked byte by byte); `read` appends the bytes of the accepted messages to the writer's
 * in-memory database, parses them with `from_json` and computes zod's verdict in SQL, and returns
 * the orders of the messages whose verdict is "invalid", for the exact path to give the reason.
 */
export class BulkReader {
  readonly accepts: CanonicalGate;
  private readonly sql: ContractSql;

  /** Throws `CONFIG_INVALID` when the dataset's contract has a rule the bulk path cannot decide exactly. */
  constructor(readonly dataset: IngestedDataset) {
    const shape = recordShape(dataset.record);
    this.accepts = canonicalGate(shape);
    this.sql = contractSql(dataset, shape);
  }

  /**
   * Creates `table` (the dataset's columns with lake types, `_order BIGINT`, `_valid BOOLEAN`) with
   * a row per message of `messages` (each with its arrival order in the flush); resolves with the
   * orders of the invalid ones, whose columns are not converted.
   */
  async read(
    connection: DuckDBConnection,
    table: string,
    messages: readonly { value: Uint8Array; order: number }[],
    nowMs: number,
  ): Promise<number[]> {
    const raw = `bulk_${this.dataset.name}`;
    await connection.run(`CREATE OR REPLACE TABLE memory.${sqlIdent(raw)} (value BLOB, _order BIGINT)`);
    await append(connection, raw, messages);
    await connection.run(
      `CREATE OR REPLACE TABLE ${table} AS
         SELECT ${this.sql.lakeColumns('_valid')}, _order, _valid
           FROM (SELECT *, ${this.sql.verdict(nowMs)} AS _valid
                   FROM (SELECT _order, unnest(from_json(decode(value), ${sqlString(this.sql.structure)})) FROM memory.${sqlIdent(raw)}))`,
    );
    await connection.run(`DROP TABLE memory.${sqlIdent(raw)}`);
    const invalid = await connection.runAndReadAll(`SELECT _order::DOUBLE AS o FROM ${table} WHERE NOT _valid`);
    return invalid.getRowObjectsJS().map((row) => Number(row.o));
  }
}

/** Appends the bytes and orders of `messages` to `memory.<table>`, a vector at a time. */
async function append(
  connection: DuckDBConnection,
  table: string,
  messages: readonly { value: Uint8Array; order: number }[],
): Promise<void> {
  const appender = await connection.createAppender(table, 'main', 'memory');
  try {
    for (let start = 0; start < messages.length; start += VECTOR_SIZE) {
      const size = Math.min(VECTOR_SIZE, messages.length - start);
      const values = new Array<DuckDBBlobValue>(size);
      const orders = new Array<bigint>(size);
      for (let i = 0; i < size; i += 1) {
        const message = messages[start + i]!;
        values[i] = new DuckDBBlobValue(message.value);
        orders[i] = BigInt(message.order);
      }
      const chunk = DuckDBDataChunk.create([BLOB, BIGINT], size);
      chunk.setColumns([values, orders]);
      appender.appendDataChunk(chunk);
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

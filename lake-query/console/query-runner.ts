import { JsonDuckDBValueConverter, type DuckDBConnection, type DuckDBPreparedStatement, type Json } from '@duckdb/node-api';
import { messageOf } from '../../core/errors.ts';
import { checkParseTree } from '../sql-guard.ts';
import { checkPlan } from './plan-check.ts';
import type { ConsoleAnswer, FailureKind } from './protocol.ts';

/** The caps of one answer. */
export interface AnswerCaps {
  maxRows: number;
  /** Most bytes of the rows as JSON. */
  maxBytes: number;
}

/** A query that failed in the worker, with the kind the parent turns into a status. */
export class QueryFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const PIVOT_HINT = 'PIVOT needs its values listed: PIVOT ... ON column IN (value, ...) USING ...';

/** `StatementType.SELECT` of the DuckDB C API. */
const STATEMENT_TYPE_SELECT = 1;

/** DuckDB's own memory errors and a failed allocation under the worker's cap. */
const OUT_OF_MEMORY = /Out of Memory Error|bad allocation|std::bad_alloc|Cannot allocate memory/i;

/**
 * Checks and runs one console query on `connection` (a locked-down DuckDB with `USE lake`):
 * parse -> check the parse tree -> check the bound plan -> prepare as one parameterless SELECT ->
 * stream the rows under the caps. Rejects with a `QueryFailure`.
 */
export async function runChecked(connection: DuckDBConnection, sql: string, caps: AnswerCaps): Promise<ConsoleAnswer> {
  await checkWritten(connection, sql);
  await checkBound(connection, sql);
  const prepared = await prepareSelect(connection, sql);
  return readCapped(prepared, caps).catch((cause: unknown) => {
    throw classify(cause);
  });
}

/** Wall 2, first look: what the user wrote (`sql-guard.ts`). */
async function checkWritten(connection: DuckDBConnection, sql: string): Promise<void> {
  const parsed = await connection.runAndReadAll('SELECT json_serialize_sql($sql::VARCHAR) AS tree', { sql });
  const reason = checkParseTree(JSON.parse(String(parsed.getRowObjectsJS()[0]?.tree ?? 'null')));
  // A PIVOT without its values is two statements for DuckDB (one finds the values): not a SELECT.
  if (reason && /^\s*PIVOT\b/i.test(sql) && !/\bIN\s*\(/i.test(sql)) throw new QueryFailure('refused', PIVOT_HINT);
  if (reason) throw new QueryFailure('refused', reason);
}

/** Wall 2, second look: what DuckDB will run, macros and views expanded (`plan-check.ts`). */
async function checkBound(connection: DuckDBConnection, sql: string): Promise<void> {
  const planned = await connection.runAndReadAll('SELECT json_serialize_plan($sql::VARCHAR) AS plan', { sql }).catch((cause: unknown) => {
    throw classify(cause, 'refused');
  });
  const reason = checkPlan(String(planned.getRowObjectsJS()[0]?.plan ?? '{"error":true}'));
  if (reason) throw new QueryFailure(OUT_OF_MEMORY.test(reason) ? 'memory' : 'refused', reason);
}

async function prepareSelect(connection: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  const extracted = await connection.extractStatements(sql).catch((cause: unknown) => {
    throw classify(cause, 'refused');
  });
  if (extracted.count !== 1) throw new QueryFailure('refused', `send exactly one statement, got ${extracted.count}`);
  const prepared = await extracted.prepare(0).catch((cause: unknown) => {
    throw classify(cause, 'refused');
  });
  // PRAGMA and SHOW also prepare as SELECT; the parse tree check already refused them.
  if (prepared.statementType !== STATEMENT_TYPE_SELECT) throw new QueryFailure('refused', 'only SELECT and WITH queries are allowed');
  if (prepared.parameterCount > 0) throw new QueryFailure('refused', 'the query has parameters ($1, ?); send literal values');
  return prepared;
}

/**
 * Streams rows until the query ends or a cap is reached. A row beyond `maxRows`, or one whose JSON
 * would pass `maxBytes`, stops the reading and the answer says which cap cut it. A failure or an
 * interrupt while streaming rejects: rows read so far are never passed off as the whole answer.
 */
async function readCapped(prepared: DuckDBPreparedStatement, caps: AnswerCaps): Promise<ConsoleAnswer> {
  const result = await prepared.stream();
  const columns = result.columnNames().map((name, i) => ({ name, type: result.columnType(i).toString() }));
  const rows: Json[][] = [];
  // The JSON array of rows: brackets, then each row and its comma.
  let bytes = 2;
  const answer = (truncatedBy?: 'rows' | 'bytes'): ConsoleAnswer => ({
    columns,
    rows,
    rowCount: rows.length,
    truncated: truncatedBy !== undefined,
    ...(truncatedBy ? { truncatedBy } : {}),
    maxRows: caps.maxRows,
    maxBytes: caps.maxBytes,
  });
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    for (let index = 0; index < chunk.rowCount; index += 1) {
      if (rows.length >= caps.maxRows) return answer('rows');
      const row = chunk.convertRowValues(index, JsonDuckDBValueConverter) as Json[];
      const size = Buffer.byteLength(JSON.stringify(row)) + 1;
      if (bytes + size > caps.maxBytes) return answer('bytes');
      rows.push(row);
      bytes += size;
    }
  }
  return answer();
}

/** A DuckDB error as a failure of its kind; `fallback` for the rest. */
export function classify(cause: unknown, fallback: FailureKind = 'failed'): QueryFailure {
  if (cause instanceof QueryFailure) return cause;
  const message = messageOf(cause);
  const first = message.split('\n')[0]!.slice(0, 300);
  if (OUT_OF_MEMORY.test(message)) return new QueryFailure('memory', first, { cause });
  if (/^INTERRUPT Error|Interrupted!/.test(message)) return new QueryFailure('interrupted', first, { cause });
  return new QueryFailure(fallback, first, { cause });
}

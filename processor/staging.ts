import { DOUBLE, DuckDBDataChunk, VARCHAR, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { sqlIdent } from '../core/adapters/ducklake/attach.ts';
import type { ColumnType, IngestedDataset } from '../core/datasets/index.ts';
import { deadLetters } from '../core/datasets/index.ts';
import { messageOf } from '../core/errors.ts';
import { deadLetter, type DeadLetter } from '../core/records/dead-letter.ts';
import type { BusMessage } from '../core/ports/bus.ts';
import { BulkReader } from './bulk/bulk-reader.ts';
import type { Flush } from './flush-window.ts';
import { implausibleEventTime } from './event-time.ts';

/** The rows one flush stages for one dataset, in a table of the writer's in-memory database. */
export interface StagedDataset {
  dataset: IngestedDataset;
  /**
   * `memory.staged_prices`: the dataset's columns with lake types, `_order` (arrival order) and
   * `_valid`; only the rows with `_valid` are the dataset's (the others became dead letters).
   */
  table: string;
  /** Valid rows. */
  rows: number;
}

/** What staging a flush gives: the staged tables, how many messages were rejected, and how the rest were read. */
export interface StagedFlush {
  datasets: StagedDataset[];
  rejected: number;
  /** Messages decided in bulk by DuckDB, and those parsed one by one (not canonical, or rejected: their reason). */
  bulk: number;
  exact: number;
  /** Why the bulk path of a dataset failed and its messages took the exact path, if it did. */
  bulkFailures: string[];
}

interface Pending {
  message: BusMessage;
  order: number;
}

// Times and BIGINTs are staged as DOUBLE (exact below 2^53) and converted by SQL: plain numbers
// fill a data chunk far faster than one bigint-backed wrapper object per value.
const STAGE_TYPES: Record<ColumnType, DuckDBType> = { VARCHAR, DOUBLE, TIMESTAMP: DOUBLE, BIGINT: DOUBLE };
const VECTOR_SIZE = 2048;
const decoder = new TextDecoder();

/**
 * The parse-and-validate step: every message of a flush becomes a row of its topic's dataset, or,
 * when it is not JSON, fails the dataset's contract or carries an absurd event time, a dead letter
 * with the reason and its bus origin. Two paths decide the same verdicts: the bulk path (a
 * message that is the canonical JSON of its record goes to DuckDB as bytes, which parses and
 * validates a flush of them in one statement) and the exact path (`JSON.parse` and zod, one
 * message at a time) for every other message and for every rejected one, so a dead letter always
 * carries zod's reason. The rows land in staging tables of the writer's in-memory database.
 */
export class Stager {
  private readonly readers: Map<IngestedDataset, BulkReader>;

  constructor(
    private readonly connection: DuckDBConnection,
    /** The dataset of each topic. */
    private readonly datasets: ReadonlyMap<string, IngestedDataset>,
  ) {
    this.readers = new Map([...new Set(datasets.values())].map((d) => [d, new BulkReader(d)]));
  }

  async stage(flush: Flush, nowMs: number): Promise<StagedFlush> {
    const { bulk, exact, orphans, order } = this.sort(flush);
    const staged = new Map<IngestedDataset, StagedDataset>();
    const bulkFailures: string[] = [];
    for (const [dataset, pending] of bulk) {
      const table = stagedTable(dataset);
      try {
        const invalid = new Set(await this.readers.get(dataset)!.read(this.connection, table, pending.map(bytesOf), nowMs));
        staged.set(dataset, { dataset, table, rows: pending.length - invalid.size });
        if (invalid.size > 0) exactList(exact, dataset).push(...pending.filter((p) => invalid.has(p.order)));
      } catch (error) {
        bulkFailures.push(`${dataset.name}: ${messageOf(error).split('\n')[0]!}`);
        await this.connection.run(`DROP TABLE IF EXISTS ${table}`);
        exactList(exact, dataset).push(...pending);
      }
    }
    const letters: DeadLetter[] = orphans.map((message) => rejection(message, 'no dataset reads this topic'));
    for (const [dataset, pending] of exact) {
      const rows: Record<string, unknown>[] = [];
      const orders: number[] = [];
      for (const { message, order } of pending) {
        const verdict = parseMessage(dataset, message, nowMs);
        if (verdict.ok) {
          rows.push(verdict.row as Record<string, unknown>);
          orders.push(order);
        } else letters.push(rejection(message, verdict.reason));
      }
      const table = stagedTable(dataset);
      await this.appendRows(dataset, table, rows, orders, !staged.has(dataset));
      const before = staged.get(dataset)?.rows ?? 0;
      staged.set(dataset, { dataset, table, rows: before + rows.length });
    }
    if (letters.length > 0) {
      const table = stagedTable(deadLetters);
      const rows = letters as unknown as Record<string, unknown>[];
      await this.appendRows(
        deadLetters,
        table,
        rows,
        letters.map((_, i) => order + i),
        !staged.has(deadLetters),
      );
      staged.set(deadLetters, { dataset: deadLetters, table, rows: (staged.get(deadLetters)?.rows ?? 0) + letters.length });
    }
    const bulkCount = [...bulk.values()].reduce((sum, list) => sum + list.length, 0);
    const exactCount = [...exact.values()].reduce((sum, list) => sum + list.length, 0);
    return {
      datasets: [...staged.values()].filter((part) => part.rows > 0),
      rejected: letters.length,
      bulk: bulkCount,
      exact: exactCount,
      bulkFailures,
    };
  }

  /** Drops the staging tables of a flush once it is committed. */
  async clear(staged: StagedFlush): Promise<void> {
    for (const { table } of staged.datasets) await this.connection.run(`DROP TABLE IF EXISTS ${table}`);
  }

  /** Sorts the messages of a flush: canonical ones per dataset for the bulk path, the others for the exact path. */
  private sort(flush: Flush): {
    bulk: Map<IngestedDataset, Pending[]>;
    exact: Map<IngestedDataset, Pending[]>;
    orphans: BusMessage[];
    /** The next arrival order after the flush's messages. */
    order: number;
  } {
    const bulk = new Map<IngestedDataset, Pending[]>();
    const exact = new Map<IngestedDataset, Pending[]>();
    const orphans: BusMessage[] = [];
    let order = 0;
    for (const range of flush.ranges) {
      const dataset = this.datasets.get(range.tp.topic);
      const reader = dataset && this.readers.get(dataset);
      for (const message of range.messages) {
        if (!dataset) orphans.push(message);
        else if (reader?.accepts(message.value)) exactList(bulk, dataset).push({ message, order });
        else exactList(exact, dataset).push({ message, order });
        order += 1;
      }
    }
    return { bulk, exact, orphans, order };
  }

  /** Appends rows the exact path validated to `table`, creating it first when `create`. */
  private async appendRows(
    dataset: IngestedDataset,
    table: string,
    rows: readonly Record<string, unknown>[],
    orders: readonly number[],
    create: boolean,
  ): Promise<void> {
    const raw = `memory.${sqlIdent(`raw_${dataset.name}`)}`;
    const columns = dataset.columns.map(([name, type]) => `${sqlIdent(name)} ${STAGE_TYPES[type].toString()}`);
    await this.connection.run(`CREATE OR REPLACE TABLE ${raw} (${columns.join(', ')}, _order DOUBLE)`);
    const appender = await this.connection.createAppender(`raw_${dataset.name}`, 'main', 'memory');
    try {
      const types = [...dataset.columns.map(([, type]) => STAGE_TYPES[type]), DOUBLE];
      for (let start = 0; start < rows.length; start += VECTOR_SIZE) {
        const slice = rows.slice(start, start + VECTOR_SIZE) as Record<string, DuckDBValue>[];
        const chunk = DuckDBDataChunk.create(types, slice.length);
        chunk.setColumns([
          ...dataset.columns.map(([name]) => slice.map((row) => row[name] ?? null)),
          orders.slice(start, start + VECTOR_SIZE),
        ]);
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    const typed = dataset.columns.map(([name, type]) => `${lakeValue(name, type)} AS ${sqlIdent(name)}`).join(', ');
    const select = `SELECT ${typed}, _order::BIGINT AS _order, true AS _valid FROM ${raw}`;
    await this.connection.run(create ? `CREATE OR REPLACE TABLE ${table} AS ${select}` : `INSERT INTO ${table} ${select}`);
    await this.connection.run(`DROP TABLE ${raw}`);
  }
}

function stagedTable(dataset: IngestedDataset): string {
  return `memory.${sqlIdent(`staged_${dataset.name}`)}`;
}

function exactList(lists: Map<IngestedDataset, Pending[]>, dataset: IngestedDataset): Pending[] {
  let list = lists.get(dataset);
  if (!list) lists.set(dataset, (list = []));
  return list;
}

function bytesOf({ message, order }: Pending): { value: Uint8Array; order: number } {
  return { value: message.value, order };
}

/** The expression that turns a staged column into its lake type. */
function lakeValue(name: string, type: ColumnType): string {
  const column = sqlIdent(name);
  if (type === 'TIMESTAMP') return `epoch_ms(${column}::BIGINT)`;
  if (type === 'BIGINT') return `${column}::BIGINT`;
  return column;
}

type Verdict = { ok: true; row: unknown } | { ok: false; reason: string };

/** One message against its dataset's contract and the plausible range of event times: the exact path. */
export function parseMessage(dataset: IngestedDataset, message: BusMessage, nowMs: number): Verdict {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(message.value));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const validated = dataset.validate(json);
  if (!validated.ok) return validated;
  const implausible = implausibleEventTime((validated.value as Record<string, number>)[dataset.eventTime]!, nowMs);
  return implausible === undefined ? { ok: true, row: validated.value } : { ok: false, reason: implausible };
}

/** The dead letter of a rejected message. The bus timestamp stamps it, so a replay files it on the same day. */
function rejection(message: BusMessage, reason: string): DeadLetter {
  return deadLetter({
    at: message.timestamp,
    stage: 'processor',
    source: `${message.topic}/${message.partition}/${message.offset}`,
    reason,
    payload: decoder.decode(message.value),
  });
}

import { DOUBLE, DuckDBDataChunk, VARCHAR, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { sqlIdent } from '../core/adapters/ducklake/attach.ts';
import type { ColumnType, IngestedDataset } from '../core/datasets/index.ts';
import { deadLetters } from '../core/datasets/index.ts';
import { deadLetter, type DeadLetter } from '../core/records/dead-letter.ts';
import type { BusMessage } from '../core/ports/bus.ts';
import type { Flush } from './flush-window.ts';
import { implausibleEventTime } from './event-time.ts';

/** The rows one flush stages for one dataset, in a table of the writer's in-memory database. */
export interface StagedDataset {
  dataset: IngestedDataset;
  /** `memory.staged_prices`: the dataset's columns with lake types, plus `_order` (arrival order). */
  table: string;
  rows: number;
}

/** What staging a flush gives: the staged tables, and how many messages were rejected. */
export interface StagedFlush {
  datasets: StagedDataset[];
  rejected: number;
}

// Times and BIGINTs are staged as DOUBLE (exact below 2^53) and converted by SQL: plain numbers
// fill a data chunk far faster than one bigint-backed wrapper object per value.
const STAGE_TYPES: Record<ColumnType, DuckDBType> = { VARCHAR, DOUBLE, TIMESTAMP: DOUBLE, BIGINT: DOUBLE };
const VECTOR_SIZE = 2048;
const decoder = new TextDecoder();

/**
 * The parse-and-validate step: every message of a flush becomes a row of its topic's dataset, or,
 * when it is not JSON, fails the dataset's contract or carries an absurd event time, a dead letter
 * with the reason and its bus origin. The rows land in staging tables of the writer's in-memory
 * database, typed as the lake's columns, ready for the commit to deduplicate and insert.
 */
export class Stager {
  constructor(
    private readonly connection: DuckDBConnection,
    /** The dataset of each topic. */
    private readonly datasets: ReadonlyMap<string, IngestedDataset>,
  ) {}

  async stage(flush: Flush, nowMs: number): Promise<StagedFlush> {
    const rows = new Map<IngestedDataset, unknown[]>();
    const push = (dataset: IngestedDataset, row: unknown) => {
      const list = rows.get(dataset);
      if (list) list.push(row);
      else rows.set(dataset, [row]);
    };
    let rejected = 0;
    for (const range of flush.ranges) {
      const dataset = this.datasets.get(range.tp.topic);
      for (const message of range.messages) {
        const verdict = dataset ? parseMessage(dataset, message, nowMs) : { ok: false as const, reason: 'no dataset reads this topic' };
        if (verdict.ok) {
          push(dataset!, verdict.row);
          continue;
        }
        rejected += 1;
        push(deadLetters, rejection(message, verdict.reason));
      }
    }
    const staged: StagedDataset[] = [];
    for (const [dataset, list] of rows) staged.push(await this.write(dataset, list));
    return { datasets: staged, rejected };
  }

  /** Drops the staging tables of a flush once it is committed. */
  async clear(staged: StagedFlush): Promise<void> {
    for (const { table } of staged.datasets) await this.connection.run(`DROP TABLE IF EXISTS ${table}`);
  }

  private async write(dataset: IngestedDataset, rows: readonly unknown[]): Promise<StagedDataset> {
    const raw = `memory.${sqlIdent(`raw_${dataset.name}`)}`;
    const table = `memory.${sqlIdent(`staged_${dataset.name}`)}`;
    const columns = dataset.columns.map(([name, type]) => `${sqlIdent(name)} ${STAGE_TYPES[type].toString()}`);
    await this.connection.run(`CREATE OR REPLACE TABLE ${raw} (${columns.join(', ')}, _order DOUBLE)`);
    const appender = await this.connection.createAppender(`raw_${dataset.name}`, 'main', 'memory');
    try {
      const types = [...dataset.columns.map(([, type]) => STAGE_TYPES[type]), DOUBLE];
      for (let start = 0; start < rows.length; start += VECTOR_SIZE) {
        const slice = rows.slice(start, start + VECTOR_SIZE) as Record<string, DuckDBValue>[];
        const chunk = DuckDBDataChunk.create(types, slice.length);
        chunk.setColumns([...dataset.columns.map(([name]) => slice.map((row) => row[name] ?? null)), slice.map((_, i) => start + i)]);
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    const typed = dataset.columns.map(([name, type]) => lakeValue(name, type)).join(', ');
    await this.connection.run(`CREATE OR REPLACE TABLE ${table} AS SELECT ${typed}, _order::BIGINT AS _order FROM ${raw}`);
    await this.connection.run(`DROP TABLE ${raw}`);
    return { dataset, table, rows: rows.length };
  }
}

/** The expression that turns a staged column into its lake type. */
function lakeValue(name: string, type: ColumnType): string {
  const column = sqlIdent(name);
  if (type === 'TIMESTAMP') return `epoch_ms(${column}::BIGINT) AS ${column}`;
  if (type === 'BIGINT') return `${column}::BIGINT AS ${column}`;
  return column;
}

type Verdict = { ok: true; row: unknown } | { ok: false; reason: string };

/** One message against its dataset's contract and the plausible range of event times. */
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

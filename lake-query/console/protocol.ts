import type { Json } from '@duckdb/node-api';
import type { LakeLocation } from '../../core/adapters/select.ts';

/** Why an answer holds fewer rows than the query produced. */
export type CutReason = 'rows' | 'bytes';

/** The answer to one console query, as the worker sends it: rows as JSON values, and whether and why they were cut. */
export interface ConsoleAnswer {
  columns: { name: string; type: string }[];
  rows: Json[][];
  rowCount: number;
  /** True when the query produced more than `rows`. */
  truncated: boolean;
  /** Which cap cut the rows: `rows` (maxRows) or `bytes` (maxBytes of JSON); absent when nothing was cut. */
  truncatedBy?: CutReason;
  maxRows: number;
  maxBytes: number;
}

/** How a query failed inside a worker. */
export type FailureKind =
  /** Wall 2 refused it, or DuckDB could not parse, bind or prepare it: the user's to fix. */
  | 'refused'
  /** It failed while running (a conversion, a division by zero, `error()`). */
  | 'failed'
  /** DuckDB or the operating system refused it memory. */
  | 'memory'
  /** It was interrupted (the parent asked, at its deadline). */
  | 'interrupted'
  /** Maintenance expired catalog tables this worker's attachment still knew: a fresh worker can answer. */
  | 'stale';

/** What the parent tells a worker. */
export type ToWorker =
  | { type: 'open'; location: LakeLocation; duckdbMemoryLimit: string; threads: number }
  | { type: 'run'; id: number; sql: string; maxRows: number; maxBytes: number }
  | { type: 'interrupt'; id: number };

/** What a worker tells the parent. */
export type FromWorker =
  /** The lake is attached and locked down; `dataBytes` is the worker's data segment (VmData) now, before any query. */
  | { type: 'ready'; dataBytes: number }
  | { type: 'open-failed'; message: string }
  /** The query arrived and runs (a worker that dies before saying so never ran it). */
  | { type: 'started'; id: number }
  | { type: 'answer'; id: number; answer: ConsoleAnswer }
  | { type: 'failure'; id: number; kind: FailureKind; message: string };

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Bus } from '../core/ports/bus.ts';
import type { ObjectStore } from '../core/ports/object-store.ts';
import type { Logger } from '../core/log.ts';
import { toPriceRecord, validatePrice, type PriceRecord } from '../core/records/price.ts';
import { deadLetter, type DeadLetter } from '../core/records/dead-letter.ts';
import { ReplayProvider } from './providers/replay.ts';

/** Where a backfill publishes, and how it names what it publishes. */
export interface BackfillOptions {
  bus: Bus;
  /** The lake: the ledger of imported files lives under `_backfill/`. */
  store: ObjectStore;
  pricesTopic: string;
  deadLetterTopic: string;
  /** `source` of the imported records. */
  source: string;
  /** Symbol for files whose rows name none; default: from the file name. */
  symbol?: string | undefined;
  /** Rows read and published per step. */
  chunkRows?: number;
  log: Logger;
  now?: () => number;
  /** Called after every published chunk. */
  onProgress?: (progress: BackfillProgress) => void;
}

export interface BackfillProgress {
  file: string;
  bytes: number;
  rowsDone: number;
}

/** What importing one file did. */
export interface BackfillSummary {
  file: string;
  sha256: string;
  /** True when the ledger says this exact file was imported before: nothing was published. */
  skipped: boolean;
  published: number;
  deadLettered: number;
  /** Rows whose id an earlier row of the same file already had (files repeat timestamps). */
  duplicates: number;
  firstTs: number | null;
  lastTs: number | null;
  durationMs: number;
}

interface LedgerEntry {
  file: string;
  sha256: string;
  source: string;
  status: 'in-progress' | 'complete';
  /** Rows per chunk: a resumed import reads in the same chunks, so it skips whole chunks. */
  chunkRows: number;
  /** Rows (records and rejects) already published, in file order. */
  rowsDone: number;
  published: number;
  deadLettered: number;
  duplicates: number;
  firstTs: number | null;
  lastTs: number | null;
  updatedAt: number;
}

/**
 * Imports one history file (any layout the replay provider reads) into the lake through the bus,
 * as fast as the bus takes it. Idempotent: a ledger object in the lake, keyed by the file's
 * SHA-256 and the source name, records progress after every acknowledged chunk; a file already
 * imported is skipped, and an interrupted import resumes after the last acknowledged chunk (a
 * crash between a chunk's acknowledgement and its ledger write publishes that chunk again).
 */
export async function backfillFile(file: string, options: BackfillOptions): Promise<BackfillSummary> {
  const now = options.now ?? Date.now;
  const started = now();
  const sha256 = await fileSha256(file);
  const ledgerKey = `_backfill/${options.source}/${sha256}.json`;
  const previous = await readLedger(options.store, ledgerKey);
  const log = options.log.child({ file: basename(file), sha256: sha256.slice(0, 12) });
  if (previous?.status === 'complete') {
    log.info({ published: previous.published }, 'Skipping a file imported before');
    return { file, sha256, skipped: true, ...counts(previous), durationMs: now() - started };
  }
  const entry: LedgerEntry = previous ?? {
    file: basename(file),
    sha256,
    source: options.source,
    status: 'in-progress',
    chunkRows: options.chunkRows ?? 20_000,
    rowsDone: 0,
    published: 0,
    deadLettered: 0,
    duplicates: 0,
    firstTs: null,
    lastTs: null,
    updatedAt: started,
  };
  if (previous) log.info({ rowsDone: previous.rowsDone }, 'Resuming an interrupted import');

  const bytes = (await stat(file)).size;
  const replay = new ReplayProvider({ file, speed: 0, chunkRows: entry.chunkRows, source: options.source, symbol: options.symbol });
  const signal = new AbortController().signal;
  let rowsRead = 0;
  // Ids seen in this file, re-learnt from skipped chunks on resume: a file that repeats a timestamp
  // would otherwise put one id in the lake twice.
  const seen = new Set<string>();
  while (!replay.exhausted) {
    const { observations, rejects } = await replay.fetch([], signal);
    const chunkRows = observations.length + rejects.length;
    if (chunkRows === 0) continue;
    const ingestedAt = now();
    const records: PriceRecord[] = [];
    const letters: DeadLetter[] = rejects.map((reject) =>
      deadLetter({ at: ingestedAt, stage: 'scraper', source: options.source, reason: reject.reason, payload: reject.payload }),
    );
    let duplicates = 0;
    for (const observation of observations) {
      const checked = validatePrice(toPriceRecord(observation, ingestedAt));
      if (checked.ok && seen.has(checked.value.id)) duplicates++;
      else if (checked.ok) {
        seen.add(checked.value.id);
        records.push(checked.value);
      } else
        letters.push(
          deadLetter({ at: ingestedAt, stage: 'scraper', source: options.source, reason: checked.reason, payload: observation }),
        );
    }
    rowsRead += chunkRows;
    // Chunks acknowledged by an interrupted run are read again but not published again.
    if (rowsRead <= entry.rowsDone) continue;
    await options.bus.publish(
      options.pricesTopic,
      records.map((record) => ({ key: record.symbol, value: JSON.stringify(record) })),
    );
    await options.bus.publish(
      options.deadLetterTopic,
      letters.map((letter) => ({ key: letter.source, value: JSON.stringify(letter) })),
    );
    entry.rowsDone = rowsRead;
    entry.published += records.length;
    entry.deadLettered += letters.length;
    entry.duplicates += duplicates;
    for (const record of records) {
      entry.firstTs = entry.firstTs === null ? record.ts : Math.min(entry.firstTs, record.ts);
      entry.lastTs = entry.lastTs === null ? record.ts : Math.max(entry.lastTs, record.ts);
    }
    entry.updatedAt = now();
    await writeLedger(options.store, ledgerKey, entry);
    options.onProgress?.({ file, bytes, rowsDone: rowsRead });
  }
  entry.status = 'complete';
  entry.updatedAt = now();
  await writeLedger(options.store, ledgerKey, entry);
  const summary = { file, sha256, skipped: false, ...counts(entry), durationMs: now() - started };
  log.info({ published: summary.published, deadLettered: summary.deadLettered, ms: summary.durationMs }, 'Imported a file');
  return summary;
}

function counts(entry: LedgerEntry) {
  return {
    published: entry.published,
    deadLettered: entry.deadLettered,
    duplicates: entry.duplicates ?? 0,
    firstTs: entry.firstTs,
    lastTs: entry.lastTs,
  };
}

async function readLedger(store: ObjectStore, key: string): Promise<LedgerEntry | undefined> {
  const body = await store.get(key);
  return body ? (JSON.parse(new TextDecoder().decode(body)) as LedgerEntry) : undefined;
}

async function writeLedger(store: ObjectStore, key: string, entry: LedgerEntry): Promise<void> {
  await store.put(key, new TextEncoder().encode(JSON.stringify(entry)));
}

/** The SHA-256 of a file's bytes, streamed. */
async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

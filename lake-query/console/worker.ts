// One SQL console worker: a process of its own that `worker-process.ts` starts, caps and kills.
// It opens a DuckDB with the lake attached read-only and wall 1 locked, then answers the queries
// the parent sends over IPC, one at a time. It exits when the parent goes away.
import { readFileSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { LAKE } from '../../core/adapters/ducklake/attach.ts';
import { LakeSession, isStaleAttachment } from '../../core/adapters/ducklake/session.ts';
import type { LakeLocation } from '../../core/adapters/select.ts';
import { messageOf } from '../../core/errors.ts';
import { lockdownSql, redactPlaces } from './lockdown.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import { QueryFailure, classify, runChecked } from './query-runner.ts';

type OpenRequest = Extract<ToWorker, { type: 'open' }>;
type RunRequest = Extract<ToWorker, { type: 'run' }>;

let location: LakeLocation | undefined;
let connection: DuckDBConnection | undefined;
let running: number | undefined;

function send(message: FromWorker): void {
  process.send?.(message);
}

/** This worker's DuckDB: the lake attached read-only, wall 1 locked, `USE lake`. */
async function open(open: OpenRequest): Promise<void> {
  const fresh = await LakeSession.open(open.location, { readOnly: true, memoryLimit: open.duckdbMemoryLimit, threads: open.threads });
  try {
    const admin = await fresh.connect();
    for (const statement of lockdownSql(open.location)) await admin.run(statement);
    connection = await fresh.connect();
    await connection.run(`USE ${LAKE}`);
  } catch (error) {
    fresh.close();
    throw error;
  }
}

async function run(job: RunRequest, location: LakeLocation): Promise<void> {
  running = job.id;
  send({ type: 'started', id: job.id });
  try {
    send({ type: 'answer', id: job.id, answer: await runChecked(connection!, job.sql, job) });
  } catch (error) {
    // Maintenance expired what this attachment remembered: the parent starts a fresh worker (a
    // second DuckDB in this process would not fit under its memory cap).
    const failure = isStale(error) ? new QueryFailure('stale', 'the lake changed under this worker') : classify(error);
    const message = redactPlaces(failure.message, location, { anyPath: failure.kind !== 'refused' });
    send({ type: 'failure', id: job.id, kind: failure.kind, message });
  } finally {
    running = undefined;
  }
}

function isStale(error: unknown): boolean {
  return isStaleAttachment(error) || isStaleAttachment(new Error(messageOf(error)));
}

/** VmData of this process, in bytes: what RLIMIT_DATA counts. */
function dataBytes(): number {
  const kib = /^VmData:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Number(kib ?? 0) * 1024;
}

process.on('message', (message: ToWorker) => {
  if (message.type === 'open') {
    open(message).then(
      () => {
        location = message.location;
        send({ type: 'ready', dataBytes: dataBytes() });
      },
      // For the server's log: the places stay in.
      (error: unknown) => send({ type: 'open-failed', message: messageOf(error).split('\n')[0]! }),
    );
  } else if (message.type === 'run') {
    if (!connection || !location || running !== undefined) {
      send({ type: 'failure', id: message.id, kind: 'failed', message: 'the worker is not ready for a query' });
      return;
    }
    void run(message, location);
  } else if (message.type === 'interrupt' && message.id === running) {
    connection?.interrupt();
  }
});

// The parent went away (stopped, or killed): nothing is left to answer.
process.on('disconnect', () => process.exit(0));

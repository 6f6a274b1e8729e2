import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { LakeLocation } from '../../core/adapters/select.ts';
import { LakeError, messageOf } from '../../core/errors.ts';
import type { ConsoleAnswer, FailureKind, FromWorker, ToWorker } from './protocol.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const run = promisify(execFile);

/** Niceness of the workers: the dashboard's own queries, in the server process, get the CPU first. */
export const WORKER_NICENESS = 10;

/** What one worker is started with. */
export interface WorkerSettings {
  location: LakeLocation;
  /** Bytes a worker may add to its data segment once ready (RLIMIT_DATA = idle VmData + this). */
  memoryBytes: number;
  /** DuckDB's own `memory_limit` inside the worker, below `memoryBytes` so that its refusals come first. */
  duckdbMemoryLimit: string;
  threads: number;
  /** Longest a worker may take to open the lake, in ms. */
  startTimeoutMs: number;
}

/** How a query sent to a worker ended: an answer, a failure inside DuckDB, or the worker's death. */
export type WorkerOutcome =
  | { type: 'answer'; answer: ConsoleAnswer }
  | { type: 'failure'; kind: FailureKind; message: string }
  /** The process exited; `started` says whether the query had reached it (else it never ran). */
  | { type: 'exit'; code: number | null; signal: NodeJS.Signals | null; stderr: string; started: boolean };

/** Bytes of a worker's stderr kept, for the log when it dies. */
const STDERR_TAIL = 4_096;

/**
 * One SQL console worker seen from the server: a child process (`worker.ts`) whose data segment
 * is capped by the operating system once it is ready (`prlimit --pid <pid> --data=<idle + memoryBytes>`,
 * read back from `/proc/<pid>/limits`), at a lower CPU priority, with a minimal environment (no
 * server secret reaches it; the lake's place comes over IPC). One query at a time.
 */
export class WorkerProcess {
  private pending: ((outcome: WorkerOutcome) => void) | undefined;
  private nextId = 1;
  private currentId = 0;
  private started = false;
  private stderr = '';
  private exit: Extract<WorkerOutcome, { type: 'exit' }> | undefined;
  /** Resolves when the process has exited, with how. */
  readonly exited: Promise<Extract<WorkerOutcome, { type: 'exit' }>>;
  /** RLIMIT_DATA the operating system holds the worker to, in bytes. */
  dataLimitBytes = 0;

  private constructor(private readonly child: ChildProcess) {
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-STDERR_TAIL)));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { type: 'exit', code, signal, stderr: this.stderr, started: this.started };
        this.settle(this.exit);
        resolve(this.exit);
      }),
    );
    child.on('message', (message: FromWorker) => {
      if (message.type === 'started' && message.id === this.currentId) this.started = true;
      if ((message.type === 'answer' || message.type === 'failure') && message.id === this.currentId) {
        this.settle(message.type === 'answer' ? message : { type: 'failure', kind: message.kind, message: message.message });
      }
    });
    // An IPC write to a worker that just died: its exit is what counts.
    child.on('error', () => undefined);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** False once the process has exited (or is about to: its IPC channel closed). */
  get alive(): boolean {
    return this.exit === undefined && this.child.connected;
  }

  /** Starts a worker and waits until it has opened the lake and its memory cap is in place. Throws `QUERY_FAILED`. */
  static async start(settings: WorkerSettings): Promise<WorkerProcess> {
    const child = spawn(process.execPath, ['--import', TSX, WORKER], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: workerEnv(),
    });
    const worker = new WorkerProcess(child);
    try {
      // Niced from the start: even opening the lake yields to the dashboard.
      if (child.pid) setPriority(child.pid, WORKER_NICENESS);
      const ready = await worker.opened(settings);
      worker.dataLimitBytes = await capData(child.pid!, ready.dataBytes + settings.memoryBytes);
      return worker;
    } catch (error) {
      worker.kill();
      throw new LakeError('QUERY_FAILED', `starting a SQL console worker: ${messageOf(error)}`, { cause: error });
    }
  }

  /** Sends one query; resolves with how it ended (never rejects). */
  run(sql: string, caps: { maxRows: number; maxBytes: number }): Promise<WorkerOutcome> {
    if (this.pending) throw new Error('a console worker runs one query at a time');
    if (this.exit) return Promise.resolve(this.exit);
    this.currentId = this.nextId++;
    this.started = false;
    const outcome = new Promise<WorkerOutcome>((resolve) => (this.pending = resolve));
    this.send({ type: 'run', id: this.currentId, sql, ...caps });
    return outcome;
  }

  /** Asks DuckDB to stop the running query; some functions never look, hence `kill`. */
  interrupt(): void {
    this.send({ type: 'interrupt', id: this.currentId });
  }

  /** SIGKILL: the operating system takes the process and all its memory back at once. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private send(message: ToWorker): void {
    if (this.child.connected) this.child.send(message);
  }

  private settle(outcome: WorkerOutcome): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.(outcome);
  }

  private opened(settings: WorkerSettings): Promise<{ dataBytes: number }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the lake was not open after ${settings.startTimeoutMs} ms`)),
        settings.startTimeoutMs,
      );
      const onMessage = (message: FromWorker) => {
        if (message.type !== 'ready' && message.type !== 'open-failed') return;
        clearTimeout(timer);
        this.child.off('message', onMessage);
        if (message.type === 'ready') resolve(message);
        else reject(new Error(message.message));
      };
      this.child.on('message', onMessage);
      void this.exited.then((exit) => {
        clearTimeout(timer);
        reject(new Error(`the worker exited (${exit.signal ?? `code ${exit.code}`}): ${lastLine(exit.stderr)}`));
      });
      this.send({ type: 'open', location: settings.location, duckdbMemoryLimit: settings.duckdbMemoryLimit, threads: settings.threads });
    });
  }
}

/** The environment a worker needs to run Node and DuckDB, and nothing of the server's configuration. */
function workerEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'TZ', 'LANG', 'NODE_ENV']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Sets RLIMIT_DATA (soft and hard) of process `pid` with util-linux `prlimit`, then reads it back.
 * RLIMIT_DATA rather than RLIMIT_AS: DuckDB and V8 reserve ~19 GB of address space they never
 * touch, so an address-space cap would measure reservations, not memory (see the README).
 */
async function capData(pid: number, bytes: number): Promise<number> {
  const limit = String(Math.floor(bytes));
  await run('prlimit', ['--pid', String(pid), `--data=${limit}:${limit}`]).catch((error: unknown) => {
    throw new Error(`capping its memory with prlimit (util-linux) failed: ${messageOf(error).split('\n')[0]}`);
  });
  const limits = await readFile(`/proc/${pid}/limits`, 'utf8');
  const held = /^Max data size\s+(\d+)\s+(\d+)/m.exec(limits);
  if (held?.[1] !== limit || held[2] !== limit)
    throw new Error(`its memory cap did not hold: /proc/${pid}/limits says ${held?.[0] ?? 'nothing'}`);
  return Number(limit);
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1)?.slice(0, 300) ?? '';
}

import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';
import { LakeError } from '../../core/errors.ts';
import type { ConsoleAnswer } from './protocol.ts';
import type { WorkerOutcome, WorkerProcess } from './worker-process.ts';

/** Limits of the pool, each named in the error a user sees when it is reached. */
export interface PoolLimits {
  /** Workers, each running one query at a time (SQL_WORKERS). */
  workers: number;
  /** Queries that may wait for a worker; one more is refused at once (SQL_QUEUE_MAX). */
  queueMax: number;
  /** Longest a query waits for a worker, in ms (SQL_QUEUE_WAIT_MS). */
  queueWaitMs: number;
  /** Longest a query runs, in ms, from the moment a worker takes it (SQL_TIMEOUT_MS). */
  timeoutMs: number;
  /** After the interrupt at the deadline, how long the worker has to stop before SIGKILL, in ms. */
  killAfterMs: number;
  /** The memory limit as configured, for messages (SQL_MEMORY_LIMIT). */
  memoryLimit: string;
}

interface Waiter {
  take(worker: WorkerProcess): void;
  settled: boolean;
}

/** What a dying V8 or DuckDB prints when an allocation fails under the cap. */
const OUT_OF_MEMORY_DEATH = /out of memory|Allocation failed|std::bad_alloc|bad allocation|Cannot allocate memory/i;

/** Longest pause between attempts to start a worker that keeps failing, in ms. */
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * The SQL console's worker processes: a fixed number of them, each running one query at a time.
 * A query takes an idle worker, or waits in a bounded queue for a bounded time. At its deadline
 * the query is answered at once (a time-limit error); the worker is interrupted and, if it has not
 * stopped within `killAfterMs`, killed. A worker that ran out of memory is killed too, so no
 * DuckDB state outlives the query that exhausted it, and so is one whose attachment went stale
 * (the query then runs on a fresh worker). Every worker that exits is replaced at once
 * (with backoff while starting fails).
 */
export class WorkerPool {
  private readonly idle: WorkerProcess[] = [];
  private readonly alive = new Set<WorkerProcess>();
  private readonly waiting: Waiter[] = [];
  private starting = 0;
  private startFailures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly queries;
  private readonly kills;
  private readonly queued;

  private constructor(
    private readonly limits: PoolLimits,
    private readonly start: () => Promise<WorkerProcess>,
    private readonly log: Logger,
    metrics: Metrics,
  ) {
    this.queries = metrics.counter('sql_console_queries_total', 'SQL console queries by outcome', ['outcome']);
    this.kills = metrics.counter('sql_console_workers_killed_total', 'SQL console workers killed, by reason', ['reason']);
    this.queued = metrics.gauge('sql_console_queue_waiting', 'SQL console queries waiting for a worker');
  }

  /** Starts `limits.workers` workers and resolves once all are ready; throws the first start failure. */
  static async open(limits: PoolLimits, start: () => Promise<WorkerProcess>, log: Logger, metrics: Metrics): Promise<WorkerPool> {
    const pool = new WorkerPool(limits, start, log, metrics);
    const started = await Promise.allSettled(Array.from({ length: limits.workers }, () => start()));
    const failed = started.find((outcome) => outcome.status === 'rejected');
    for (const outcome of started) if (outcome.status === 'fulfilled') pool.adopt(outcome.value);
    if (failed) {
      pool.close();
      throw failed.reason;
    }
    return pool;
  }

  /** Runs one query on a worker; rejects with `QUERY_INVALID`, `QUERY_LIMIT`, `QUERY_BUSY`, `QUERY_UNAVAILABLE` or `QUERY_FAILED`. */
  async run(sql: string, caps: { maxRows: number; maxBytes: number }): Promise<ConsoleAnswer> {
    // A query is tried again on another worker when its own went stale or died before it started: at most once per worker.
    for (let attempt = 0; ; attempt += 1) {
      const worker = await this.take();
      const outcome = worker.run(sql, caps);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), this.limits.timeoutMs)));
      const first = await Promise.race([outcome, deadline]);
      clearTimeout(timer);
      if (first === 'deadline') {
        this.stopLate(worker, outcome);
        throw this.outcomeError('time_limit', `stopped at the time limit of ${this.limits.timeoutMs} ms (SQL_TIMEOUT_MS)`);
      }
      if (first.type === 'failure' && first.kind === 'stale' && attempt < this.limits.workers) {
        this.retire(worker, 'stale');
        continue;
      }
      // The worker died before the query reached it (killed from outside while idle): another runs it.
      if (first.type === 'exit' && !first.started && attempt < this.limits.workers) continue;
      return this.settle(worker, first);
    }
  }

  /** Workers by state, and queries waiting: for health and tests. */
  status(): { workers: number; idle: number; starting: number; waiting: number } {
    return { workers: this.alive.size, idle: this.idle.length, starting: this.starting, waiting: this.waiting.length };
  }

  /** Stops every worker; waiting queries are refused. */
  close(): void {
    this.closed = true;
    clearTimeout(this.restartTimer);
    for (const waiter of this.waiting.splice(0)) waiter.settled = true;
    for (const worker of this.alive) worker.kill();
  }

  private settle(worker: WorkerProcess, outcome: WorkerOutcome): ConsoleAnswer {
    if (outcome.type === 'answer') {
      this.release(worker);
      this.queries.inc({ outcome: 'answered' });
      return outcome.answer;
    }
    if (outcome.type === 'exit') {
      const dump = outcome.stderr.trim().split('\n').slice(-3).join(' | ');
      if (OUT_OF_MEMORY_DEATH.test(outcome.stderr)) {
        this.log.info({ pid: worker.pid, stderr: dump }, 'A SQL console worker died at its memory cap; starting another');
        throw this.memoryError('the worker process ran out of memory');
      }
      this.log.warn(
        { pid: worker.pid, code: outcome.code, signal: outcome.signal, stderr: dump },
        'A SQL console worker died while running a query',
      );
      this.queries.inc({ outcome: 'crashed' });
      throw new LakeError(
        'QUERY_FAILED',
        `sql: the query's worker process stopped (${outcome.signal ?? `exit code ${outcome.code}`}) before answering`,
      );
    }
    if (outcome.kind === 'stale') {
      this.retire(worker, 'stale');
      throw this.busy('the lake changed under every worker; fresh ones are starting');
    }
    if (outcome.kind === 'memory') {
      // DuckDB can stay at its limit after such a query: the next one gets a fresh process.
      this.retire(worker, 'memory');
      throw this.memoryError(outcome.message);
    }
    this.release(worker);
    throw this.outcomeError(outcome.kind === 'refused' ? 'refused' : 'failed', outcome.message, 'QUERY_INVALID');
  }

  /** After the deadline: the worker has `killAfterMs` to stop, else it is killed; either way it is not lost. */
  private stopLate(worker: WorkerProcess, outcome: Promise<WorkerOutcome>): void {
    worker.interrupt();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), this.limits.killAfterMs)));
    void Promise.race([outcome, grace]).then((late) => {
      clearTimeout(timer);
      if (late === 'late') {
        this.log.warn(
          { pid: worker.pid, killAfterMs: this.limits.killAfterMs },
          'A SQL console query ignored its interrupt; killed its worker',
        );
        this.retire(worker, 'deadline');
      } else if (late.type === 'exit') {
        return;
      } else if (late.type === 'failure' && late.kind === 'memory') {
        this.retire(worker, 'memory');
      } else {
        this.release(worker);
      }
    });
  }

  private retire(worker: WorkerProcess, reason: 'deadline' | 'memory' | 'stale'): void {
    this.kills.inc({ reason });
    worker.kill();
  }

  private take(): Promise<WorkerProcess> {
    let worker = this.idle.pop();
    // A worker that died while idle leaves the pool when its exit is seen; skip it until then.
    while (worker && !worker.alive) worker = this.idle.pop();
    if (worker) return Promise.resolve(worker);
    if (this.closed) return Promise.reject(this.unavailable('the console is shut down'));
    if (this.waiting.length >= this.limits.queueMax) {
      return Promise.reject(
        this.busy(
          `${this.limits.workers} queries running and ${this.waiting.length} waiting (SQL_WORKERS ${this.limits.workers}, SQL_QUEUE_MAX ${this.limits.queueMax})`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        settled: false,
        take: (taken) => {
          waiter.settled = true;
          clearTimeout(timer);
          this.queued.set(this.waiting.length);
          resolve(taken);
        },
      };
      const timer = setTimeout(() => {
        waiter.settled = true;
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        this.queued.set(this.waiting.length);
        // No worker alive and the last attempts to start one failed: the console is down, not busy.
        const down = this.alive.size === 0 && this.startFailures > 0;
        reject(
          down
            ? this.unavailable('no worker could start (the server log says why)')
            : this.busy(`no worker was free within ${this.limits.queueWaitMs} ms (SQL_QUEUE_WAIT_MS)`),
        );
      }, this.limits.queueWaitMs);
      this.waiting.push(waiter);
      this.queued.set(this.waiting.length);
    });
  }

  private release(worker: WorkerProcess): void {
    if (!this.alive.has(worker)) return;
    for (let waiter = this.waiting.shift(); waiter; waiter = this.waiting.shift()) {
      if (!waiter.settled) return waiter.take(worker);
    }
    this.idle.push(worker);
  }

  /** Takes a started worker into the pool; when it exits, for whatever reason, another is started. */
  private adopt(worker: WorkerProcess): void {
    this.alive.add(worker);
    void worker.exited.then((exit) => {
      this.alive.delete(worker);
      const index = this.idle.indexOf(worker);
      if (index >= 0) {
        this.idle.splice(index, 1);
        if (!this.closed) {
          const stderr = exit.stderr.trim().split('\n').slice(-3).join(' | ');
          this.log.warn({ pid: worker.pid, code: exit.code, signal: exit.signal, stderr }, 'A SQL console worker exited while idle');
        }
      }
      this.fill();
    });
    this.release(worker);
  }

  private fill(): void {
    if (this.closed || this.restartTimer) return;
    while (this.alive.size + this.starting < this.limits.workers) {
      this.starting += 1;
      this.start().then(
        (worker) => {
          this.starting -= 1;
          this.startFailures = 0;
          if (this.closed) worker.kill();
          else this.adopt(worker);
        },
        (error: unknown) => {
          this.starting -= 1;
          this.startFailures += 1;
          const delay = Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** this.startFailures);
          this.log.warn({ err: error, retryInMs: delay }, 'A SQL console worker failed to start');
          this.restartTimer ??= setTimeout(() => {
            this.restartTimer = undefined;
            this.fill();
          }, delay);
        },
      );
    }
  }

  private memoryError(detail: string): LakeError {
    return this.outcomeError('memory_limit', `stopped at the memory limit of ${this.limits.memoryLimit} (SQL_MEMORY_LIMIT): ${detail}`);
  }

  private busy(detail: string): LakeError {
    this.queries.inc({ outcome: 'busy' });
    return new LakeError('QUERY_BUSY', `sql: the console is busy: ${detail}; try again shortly`);
  }

  private unavailable(detail: string): LakeError {
    this.queries.inc({ outcome: 'unavailable' });
    return new LakeError('QUERY_UNAVAILABLE', `sql: the SQL console is not available: ${detail}`);
  }

  private outcomeError(outcome: string, message: string, code: 'QUERY_LIMIT' | 'QUERY_INVALID' = 'QUERY_LIMIT'): LakeError {
    this.queries.inc({ outcome });
    return new LakeError(code, `sql: ${message}`);
  }
}

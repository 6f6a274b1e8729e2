import type { DuckDBConnection } from '@duckdb/node-api';

interface Waiter {
  take(connection: DuckDBConnection): void;
  cancelled: boolean;
}

/**
 * A fixed set of DuckDB connections. `use` lends one to a task and takes it back when the task
 * settles; callers beyond the pool size wait in order, and give up at their deadline.
 */
export class ConnectionPool {
  private readonly waiters: Waiter[] = [];

  private constructor(
    private readonly all: DuckDBConnection[],
    private readonly idle: DuckDBConnection[],
  ) {}

  /** `size` connections of `source`, each prepared by the `setup` statements (e.g. `USE lake`). */
  static async open(
    source: { connect(): Promise<DuckDBConnection> },
    size: number,
    setup: readonly string[] = [],
  ): Promise<ConnectionPool> {
    const connections = await Promise.all(Array.from({ length: size }, () => source.connect()));
    for (const connection of connections) for (const statement of setup) await connection.run(statement);
    return new ConnectionPool(connections, [...connections]);
  }

  /** Runs `task` on a free connection; rejects with `onTimeout()` if none frees up before `deadline` (epoch ms). */
  async use<T>(deadline: number, task: (connection: DuckDBConnection) => Promise<T>, onTimeout: () => Error): Promise<T> {
    const connection = this.idle.pop() ?? (await this.wait(deadline, onTimeout));
    try {
      return await task(connection);
    } finally {
      this.release(connection);
    }
  }

  close(): void {
    for (const waiter of this.waiters) waiter.cancelled = true;
    for (const connection of this.all) connection.closeSync();
  }

  private wait(deadline: number, onTimeout: () => Error): Promise<DuckDBConnection> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          waiter.cancelled = true;
          reject(onTimeout());
        },
        Math.max(0, deadline - Date.now()),
      );
      const waiter: Waiter = {
        cancelled: false,
        take: (connection) => {
          clearTimeout(timer);
          resolve(connection);
        },
      };
      this.waiters.push(waiter);
    });
  }

  private release(connection: DuckDBConnection): void {
    for (let waiter = this.waiters.shift(); waiter; waiter = this.waiters.shift()) {
      if (!waiter.cancelled) return waiter.take(connection);
    }
    this.idle.push(connection);
  }
}

/** Thrown by `interruptAt` when the work was interrupted because its deadline passed. */
export class DeadlinePassed extends Error {}

/**
 * Runs `work` on `connection` and interrupts the connection when `deadline` (epoch ms) passes:
 * the work then rejects with `DeadlinePassed` (its own error as the cause); other failures pass
 * through unchanged.
 */
export async function interruptAt<T>(connection: DuckDBConnection, deadline: number, work: () => Promise<T>): Promise<T> {
  let interrupted = false;
  let again: NodeJS.Timeout | undefined;
  // An interrupt that reaches DuckDB before the statement runs is lost (seen on a busy machine: a
  // 150 ms limit let a query run for minutes), so it is sent again until the work settles.
  const timer = setTimeout(
    () => {
      interrupted = true;
      connection.interrupt();
      again = setInterval(() => connection.interrupt(), 100);
    },
    Math.max(0, deadline - Date.now()),
  );
  try {
    return await work();
  } catch (cause) {
    if (interrupted) throw new DeadlinePassed('interrupted at its deadline', { cause });
    throw cause;
  } finally {
    clearTimeout(timer);
    clearInterval(again);
  }
}

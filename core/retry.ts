import pRetry from 'p-retry';
import { isRetryable, messageOf } from './errors.ts';

/** How hard to try again: retries after the first attempt, and the bounds of the jittered backoff. */
export interface RetryPolicy {
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
}

/** A retry policy bounded by time, with the hooks callers need. */
export interface RetryOptions extends RetryPolicy {
  /** Everything, attempts and waits, must fit in this many ms from the call. */
  budgetMs: number;
  /** No new attempt starts with less than this left of the budget, ms. Default 0. */
  reserveMs?: number;
  signal?: AbortSignal;
  /** Whether an error may be tried again at all. Default: `isRetryable` from `core/errors.ts`. */
  retryable?: (error: unknown) => boolean;
  /**
   * A wait the server asked for (Retry-After), ms: there is no retry when it does not fit in
   * what is left of the budget. Honouring it before the next attempt is up to `run`.
   */
  waitHintMs?: (error: unknown) => number | undefined;
  /** Called before each retry, with the error that caused it. */
  onRetry?: (error: unknown, attempt: number) => void;
}

/**
 * Runs `run` and, on a retryable failure, runs it again with jittered exponential backoff
 * (p-retry) until it succeeds, the retries are used up, or the time budget would be exceeded.
 * When it gives up, the last error is rethrown with its message extended by what was attempted,
 * how many times and why it stopped: `... (gave up after 3 attempts in 1.2 s: retries used up)`.
 * Its class, code and other fields are kept, so callers can still tell what failed.
 */
export async function retryWithinBudget<T>(what: string, run: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const started = performance.now();
  const left = () => options.budgetMs - (performance.now() - started);
  const retryable = options.retryable ?? isRetryable;
  const reserve = options.reserveMs ?? 0;
  let attempts = 0;
  let why = 'retries used up';
  try {
    return await pRetry(
      async (attempt) => {
        attempts = attempt;
        return run(attempt);
      },
      {
        retries: options.retries,
        minTimeout: options.minDelayMs,
        maxTimeout: options.maxDelayMs,
        randomize: true,
        maxRetryTime: Math.max(0, options.budgetMs),
        ...(options.signal ? { signal: options.signal } : {}),
        shouldRetry: ({ error, attemptNumber, retriesLeft }) => {
          if (!retryable(error)) {
            why = 'not retryable';
            return false;
          }
          const hint = options.waitHintMs?.(error);
          if ((hint ?? 0) + options.minDelayMs + reserve > left()) {
            why = hint === undefined ? 'no time left in the budget' : `the server asked to wait ${seconds(hint)}, beyond the budget`;
            return false;
          }
          if (retriesLeft <= 0) return false;
          options.onRetry?.(error, attemptNumber);
          return true;
        },
      },
    );
  } catch (error) {
    if (why === 'retries used up' && attempts <= options.retries) why = 'no time left in the budget';
    if (error instanceof Error && (attempts > 1 || why !== 'not retryable')) {
      const tries = attempts === 1 ? 'once' : `after ${attempts} attempts`;
      error.message = `${messageOf(error)} (${what}: gave up ${tries} in ${seconds(performance.now() - started)}: ${why})`;
    }
    throw error;
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

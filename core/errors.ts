/**
 * One typed list of error codes for the whole project. Adapters translate driver
 * errors at the edge into a `LakeError` that keeps the original as `cause` and says
 * whether trying again can help.
 */
export const ErrorCodes = {
  CONFIG_INVALID: { retryable: false },
  PROVIDER_HTTP: { retryable: true },
  PROVIDER_RATE_LIMITED: { retryable: true },
  PROVIDER_BANNED: { retryable: false },
  PROVIDER_RESPONSE_INVALID: { retryable: false },
  PROVIDER_TIMEOUT: { retryable: true },
  PROVIDER_NETWORK: { retryable: true },
  PROVIDER_UNAVAILABLE: { retryable: false },
  RECORD_INVALID: { retryable: false },
  BUS_UNAVAILABLE: { retryable: true },
  BUS_CLOSED: { retryable: false },
  /** A commit or seek for a partition the consumer does not own (any more). */
  BUS_NOT_OWNER: { retryable: false },
  STORE_UNAVAILABLE: { retryable: true },
  STORE_WRITE_FAILED: { retryable: true },
  CACHE_UNAVAILABLE: { retryable: true },
  QUERY_INVALID: { retryable: false },
  QUERY_FORBIDDEN: { retryable: false },
  QUERY_FAILED: { retryable: false },
  QUERY_TIMEOUT: { retryable: false },
  /** A query needs a lake data file that is missing or cannot be read; other questions still answer. */
  LAKE_FILE_UNREADABLE: { retryable: false },
  /** A SQL console query stopped at one of its limits (time, memory); the message names the limit. */
  QUERY_LIMIT: { retryable: false },
  /** Every SQL console worker is busy and the queue is full, or the wait for one ran out. */
  QUERY_BUSY: { retryable: true },
  /** The SQL console has no worker that could start. */
  QUERY_UNAVAILABLE: { retryable: true },
} as const satisfies Record<string, { retryable: boolean }>;

export type ErrorCode = keyof typeof ErrorCodes;

/** The project's error: a code from `ErrorCodes`, whether a retry can help, and the cause. */
export class LakeError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.name = 'LakeError';
    this.code = code;
    this.retryable = options.retryable ?? ErrorCodes[code].retryable;
  }
}

/** True when `error` is worth retrying: a retryable `LakeError`, or any error not yet classified. */
export function isRetryable(error: unknown): boolean {
  return error instanceof LakeError ? error.retryable : true;
}

/** The message of any thrown value, for logs and dead-letter reasons. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

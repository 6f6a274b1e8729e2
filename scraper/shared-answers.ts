import { z } from 'zod';
import { ErrorCodes, LakeError, messageOf, type ErrorCode } from '../core/errors.ts';
import type { Cache } from '../core/ports/cache.ts';
import type { ProviderResult } from '../core/ports/provider.ts';
import type { PriceObservation } from '../core/records/price.ts';
import { ProviderHttpError } from './providers/http.ts';

/** How a provider call ended, as replicas share it: what it served, or how it failed. */
export type Outcome = { ok: ProviderResult } | { error: unknown };

const StoredError = z.object({
  code: z.enum(Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  retryable: z.boolean(),
  status: z.number().optional(),
  retryAfterMs: z.number().optional(),
  payload: z.unknown().optional(),
  unlisted: z.array(z.string()).optional(),
});
const Stored = z.union([
  z.object({
    ok: z.object({
      observations: z.array(z.looseObject({ source: z.string(), symbol: z.string(), ts: z.number() })),
      rejects: z.array(z.object({ payload: z.unknown(), reason: z.string() })),
    }),
  }),
  z.object({ error: StoredError }),
]);

/** Timing of the shared answers. */
export interface SharedAnswerSettings {
  /**
   * Length of the windows answers are shared in, ms (0: no sharing); at most the poll interval,
   * so a replica never reads back its own answer of the previous poll.
   */
  ttlMs: number;
  /** The clock that places a call in its window. */
  now: () => number;
  /** How long a caller waits for another replica's answer before asking the provider itself, ms. */
  lockWaitMs: number;
  /** How often a waiting caller looks for the answer, ms. Default 20. */
  checkEveryMs?: number;
}

/**
 * Provider answers shared through the cache, so replicas polling in the same window make one
 * upstream call: the first to `claim` a request (SET NX with a short expiry) asks the provider
 * and `store`s the outcome, good or failed; the others `waitFor` it, bounded by `lockWaitMs`,
 * then ask themselves. Answers belong to fixed windows of `ttlMs` (the key carries the window
 * number), not to a time since they were stored: with the poll interval as window, replicas with
 * any phase share one call per interval, and a poll never meets the answer of the previous one
 * however slow the provider was. Keys are the request plan's key (URL with query, no API key).
 * An entry that does not parse is a miss: a poisoned cache cannot inject a record (the chain
 * validates every record again anyway).
 */
export class SharedAnswers {
  constructor(
    private readonly cache: Cache,
    private readonly settings: SharedAnswerSettings,
  ) {}

  /** The shared outcome of `key`, or `undefined` when there is none (or caching is off). */
  async read(key: string): Promise<Outcome | undefined> {
    if (this.settings.ttlMs <= 0) return undefined;
    const text = await this.cache.get(this.answerKey(key));
    if (text === undefined) return undefined;
    let parsed: z.infer<typeof Stored>;
    try {
      parsed = Stored.parse(JSON.parse(text));
    } catch {
      return undefined;
    }
    if ('ok' in parsed) return { ok: { observations: parsed.ok.observations as PriceObservation[], rejects: parsed.ok.rejects } };
    const { code, message, ...options } = parsed.error;
    return { error: new ProviderHttpError(code, message, options) };
  }

  /** True when this caller should ask the provider; false when another replica already is. */
  async claim(key: string, holdMs: number): Promise<boolean> {
    if (this.settings.ttlMs <= 0) return true;
    return this.cache.setIfAbsent(`scraper:lock:${this.window()}:${key}`, String(process.pid), Math.max(0.001, holdMs / 1000));
  }

  /** Waits up to `maxWaitMs` (and at most `lockWaitMs`) for another replica's outcome of `key`. */
  async waitFor(key: string, maxWaitMs: number): Promise<Outcome | undefined> {
    const until = performance.now() + Math.min(maxWaitMs, this.settings.lockWaitMs);
    const every = this.settings.checkEveryMs ?? 20;
    while (performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, every));
      const outcome = await this.read(key);
      if (outcome) return outcome;
    }
    return undefined;
  }

  /** Shares the outcome of `key` for the rest of the current window. */
  async store(key: string, outcome: Outcome): Promise<void> {
    if (this.settings.ttlMs <= 0) return;
    const value = 'ok' in outcome ? { ok: outcome.ok } : { error: toStored(outcome.error) };
    await this.cache.set(this.answerKey(key), JSON.stringify(value), this.settings.ttlMs / 1000);
  }

  private window(): number {
    return Math.floor(this.settings.now() / this.settings.ttlMs);
  }

  private answerKey(key: string): string {
    return `scraper:answer:${this.window()}:${key}`;
  }
}

function toStored(error: unknown): z.infer<typeof StoredError> {
  if (!(error instanceof LakeError)) return { code: 'PROVIDER_UNAVAILABLE', message: messageOf(error), retryable: false };
  const http = error instanceof ProviderHttpError ? error : undefined;
  return {
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    ...(http?.status !== undefined ? { status: http.status } : {}),
    ...(http?.retryAfterMs !== undefined ? { retryAfterMs: http.retryAfterMs } : {}),
    ...(http?.payload !== undefined ? { payload: http.payload } : {}),
    ...(http?.unlisted !== undefined ? { unlisted: http.unlisted } : {}),
  };
}

import { LakeError, messageOf } from '../core/errors.ts';
import { deadLetter, type DeadLetter } from '../core/records/dead-letter.ts';
import { toPriceRecord, validatePrice, type PriceRecord } from '../core/records/price.ts';
import type { ProviderStatus, ScraperStatus } from '../core/records/status.ts';
import type { PriceProvider, ProviderResult } from '../core/ports/provider.ts';
import { ProviderHttpError } from './providers/http.ts';

/** What a provider call did beyond its answer, filled in by the call for the provider's status. */
export interface CallNotes {
  /** Requests sent upstream (retries included; 0 for a shared answer or a skipped call). */
  upstream: number;
  /** True when the answer came from the shared cache. */
  cacheHit: boolean;
  /**
   * Symbols the call left out of its answer on purpose, and why (`unlisted: ...` for a symbol the
   * provider does not list); the chain gives that reason when it hands them to the next provider.
   */
  leftOut: Map<string, string>;
}

/** What the chain tells a call: when it must be over (epoch ms, chain clock), and where to note what it did. */
export interface CallContext {
  deadline: number;
  notes: CallNotes;
}

/**
 * The one place a provider is called. Rate limits, caching, retries and the circuit breaker
 * wrap this function (`guarded-call.ts`) without the chain changing.
 */
export type ProviderCall = (
  provider: PriceProvider,
  symbols: string[],
  signal: AbortSignal,
  context: CallContext,
) => Promise<ProviderResult>;

/** Calls the provider as it is: one upstream request. */
export const callProvider: ProviderCall = (provider, symbols, signal, context) => {
  context.notes.upstream++;
  return provider.fetch(symbols, signal);
};

/**
 * A provider call that was not made: our own rate limit is used up (`rate_limited`), the
 * provider asked us to stay away for now (`backing_off`), or its circuit is open
 * (`circuit_open`). `kind` is the failure kind and the start of the fallback reason.
 */
export class ProviderSkipped extends LakeError {
  constructor(
    readonly kind: 'rate_limited' | 'backing_off' | 'circuit_open',
    message: string,
  ) {
    super(kind === 'circuit_open' ? 'PROVIDER_UNAVAILABLE' : 'PROVIDER_RATE_LIMITED', message, { retryable: false });
    this.name = 'ProviderSkipped';
  }
}

/** A symbol handed from one provider to the next (`to` null: no provider left) and why. */
export type Fallback = ScraperStatus['recentFallbacks'][number];

/** One provider call of a poll: what was asked, how it ended (`ok` or a failure kind), how long it took. */
export interface Attempt {
  provider: string;
  symbols: string[];
  outcome: string;
  latencyMs: number;
  served: number;
  error?: string;
}

/** What a poll of the chain produced: valid records, dead letters, and the story of how. */
export interface ChainResult {
  records: PriceRecord[];
  deadLetters: DeadLetter[];
  unserved: string[];
  attempts: Attempt[];
  fallbacks: Fallback[];
}

const RECENT_FALLBACKS = 20;

/**
 * Per-symbol fallback over providers in order: the first is asked for every symbol, each next one
 * only for the symbols none before it served (it failed, left them out, or sent an invalid
 * price). Every observation is stamped and passes `validatePrice` here, so `records` is safe to
 * publish; whatever fails goes to `deadLetters` with its reason. A replay provider is the whole
 * truth about its file: what it did not hand over is not due yet, so nothing falls back from it.
 */
export class ProviderChain {
  private readonly stats = new Map<string, ProviderStatus>();
  private readonly recent: Fallback[] = [];
  private readonly call: ProviderCall;

  constructor(
    private readonly providers: PriceProvider[],
    private readonly now: () => number = Date.now,
    call: ProviderCall = callProvider,
  ) {
    this.call = call;
    for (const provider of providers) this.stats.set(provider.name, emptyStatus(provider));
  }

  /**
   * Asks the chain for `symbols`. With `deadline` (epoch ms on the chain's clock), each provider
   * call may use half of the time left, the last one all of it, so a slow or rate-limited
   * provider always leaves time to fall back.
   */
  async fetch(symbols: string[], signal: AbortSignal, deadline = Number.POSITIVE_INFINITY): Promise<ChainResult> {
    const result: ChainResult = { records: [], deadLetters: [], unserved: [], attempts: [], fallbacks: [] };
    let remaining = [...symbols];
    for (const [index, provider] of this.providers.entries()) {
      if (remaining.length === 0) break;
      const next = this.providers[index + 1]?.name ?? null;
      const stats = this.stats.get(provider.name)!;
      const started = performance.now();
      const left = deadline - this.now();
      const context: CallContext = {
        deadline: next === null ? deadline : this.now() + Math.floor(left / 2),
        notes: { upstream: 0, cacheHit: false, leftOut: new Map() },
      };
      let answer: ProviderResult;
      try {
        answer = await this.call(provider, remaining, signal, context);
      } catch (error) {
        this.note(stats, context.notes);
        const kind = failureKind(error);
        const message = messageOf(error);
        const latencyMs = Math.round(performance.now() - started);
        if (error instanceof ProviderHttpError && error.code === 'PROVIDER_RESPONSE_INVALID' && error.payload !== undefined) {
          const at = this.now();
          result.deadLetters.push(deadLetter({ at, stage: 'scraper', source: provider.name, reason: message, payload: error.payload }));
        }
        Object.assign(stats, {
          ok: false,
          failures: stats.failures + 1,
          lastLatencyMs: latencyMs,
          lastError: message,
          lastErrorAt: this.now(),
        });
        stats.failuresByKind[kind] = (stats.failuresByKind[kind] ?? 0) + 1;
        result.attempts.push({ provider: provider.name, symbols: remaining, outcome: kind, latencyMs, served: 0, error: message });
        this.fallBack(
          result,
          stats,
          remaining,
          provider.name,
          next,
          (symbol) => context.notes.leftOut.get(symbol) ?? `${kind}: ${message}`,
        );
        continue;
      }
      this.note(stats, context.notes);
      const latencyMs = Math.round(performance.now() - started);
      const asked = new Set(remaining);
      const served = new Set<string>();
      const invalid = new Map<string, string>();
      const at = this.now();
      let count = 0;
      for (const observation of answer.observations) {
        if (provider.kind !== 'replay' && !asked.has(observation.symbol)) continue;
        const checked = validatePrice(toPriceRecord(observation, at));
        if (checked.ok) {
          result.records.push(checked.value);
          served.add(observation.symbol);
          count++;
        } else {
          invalid.set(observation.symbol, checked.reason);
          result.deadLetters.push(
            deadLetter({ at, stage: 'scraper', source: provider.name, reason: checked.reason, payload: observation }),
          );
        }
      }
      for (const reject of answer.rejects) {
        result.deadLetters.push(
          deadLetter({ at, stage: 'scraper', source: provider.name, reason: reject.reason, payload: reject.payload }),
        );
      }
      Object.assign(stats, { ok: true, lastLatencyMs: latencyMs, lastSuccessAt: at, recordsServed: stats.recordsServed + count });
      result.attempts.push({ provider: provider.name, symbols: remaining, outcome: 'ok', latencyMs, served: count });
      const missed = provider.kind === 'replay' ? [] : remaining.filter((symbol) => !served.has(symbol));
      this.fallBack(result, stats, missed, provider.name, next, (symbol) => {
        const reason = invalid.get(symbol);
        if (reason) return `invalid: ${reason}`;
        return context.notes.leftOut.get(symbol) ?? 'missing: not in the answer';
      });
      remaining = missed;
    }
    result.unserved = remaining;
    return result;
  }

  /** The counters of each provider, in chain order, for the scraper's status. */
  providerStatus(): ProviderStatus[] {
    return this.providers.map((provider) => structuredClone(this.stats.get(provider.name)!));
  }

  /** The most recent fallbacks, newest first. */
  recentFallbacks(): Fallback[] {
    return [...this.recent];
  }

  private note(stats: ProviderStatus, notes: CallNotes): void {
    stats.requests += notes.upstream;
    if (notes.cacheHit) stats.cacheHits++;
  }

  private fallBack(
    result: ChainResult,
    stats: ProviderStatus,
    symbols: string[],
    from: string,
    to: string | null,
    reason: (symbol: string) => string,
  ): void {
    const at = this.now();
    for (const symbol of symbols) {
      const fallback = { at, symbol, from, to, reason: reason(symbol) };
      result.fallbacks.push(fallback);
      this.recent.unshift(fallback);
    }
    stats.fallbacks += symbols.length;
    this.recent.splice(RECENT_FALLBACKS);
  }
}

/**
 * A short, stable name for how a provider call failed, for counters and metric labels:
 * `http_429`, `http_418`, `http_503`, `timeout`, `network`, `invalid`, `unavailable`, `error`,
 * and for calls not made: `rate_limited`, `backing_off`, `circuit_open`.
 */
export function failureKind(error: unknown): string {
  if (error instanceof ProviderSkipped) return error.kind;
  if (!(error instanceof LakeError)) return 'error';
  switch (error.code) {
    case 'PROVIDER_RATE_LIMITED':
      return 'http_429';
    case 'PROVIDER_BANNED':
      return 'http_418';
    case 'PROVIDER_HTTP':
      return error instanceof ProviderHttpError && error.status !== undefined ? `http_${error.status}` : 'http_error';
    case 'PROVIDER_TIMEOUT':
      return 'timeout';
    case 'PROVIDER_NETWORK':
      return 'network';
    case 'PROVIDER_RESPONSE_INVALID':
      return 'invalid';
    case 'PROVIDER_UNAVAILABLE':
      return 'unavailable';
    default:
      return 'error';
  }
}

function emptyStatus(provider: PriceProvider): ProviderStatus {
  return {
    name: provider.name,
    kind: provider.kind,
    ok: true,
    requests: 0,
    failures: 0,
    failuresByKind: {},
    recordsServed: 0,
    cacheHits: 0,
    fallbacks: 0,
    lastLatencyMs: null,
    lastSuccessAt: null,
    lastError: null,
    lastErrorAt: null,
  };
}

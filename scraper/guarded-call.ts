import { isRetryable, messageOf } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Cache } from '../core/ports/cache.ts';
import type { PriceProvider, ProviderResult } from '../core/ports/provider.ts';
import { retryWithinBudget, type RetryPolicy } from '../core/retry.ts';
import { CircuitBreaker, type CircuitSettings, type CircuitState } from './circuit-breaker.ts';
import { callProvider, ProviderSkipped, type CallContext, type ProviderCall } from './fallback.ts';
import { isUnlistedRefusal, ProviderHttpError } from './providers/http.ts';
import { planOf, type RequestPlan } from './providers/plan.ts';
import { RateLimiter, type RateBudget } from './rate-limiter.ts';
import { scraperMetrics } from './scraper-metrics.ts';
import { SharedAnswers, type Outcome } from './shared-answers.ts';
import { isolateUnlisted, UnlistedSymbols } from './unlisted-symbols.ts';

/** Everything the guard is tuned by; `scraper/config.ts` holds the defaults. */
export interface GuardSettings {
  /** Budget per provider name; a provider without one is not limited. */
  rateLimits: Record<string, RateBudget>;
  circuit: CircuitSettings;
  retry: RetryPolicy;
  /** Length of the windows answers are shared in with other replicas, ms (0: not at all); at most the poll interval. */
  cacheTtlMs: number;
  /** How long a replica waits for another's answer before asking itself, ms. */
  cacheLockWaitMs: number;
  /** Pause after a 429 (or a rate-limit error body) that gave no Retry-After, ms. */
  rateLimitedPauseMs: number;
  /** Pause after a 418 ban that gave no Retry-After, ms. */
  bannedPauseMs: number;
  /** How long a symbol a provider refused as unlisted is asked of the next provider only, ms. */
  unlistedTtlMs: number;
}

/** What the guard is built from. `cache` should never reject (see `FailoverCache`). */
export interface GuardDeps {
  cache: Cache;
  settings: GuardSettings;
  metrics: Metrics;
  log: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The guarded provider call and a view of the breakers. */
export interface ProviderGuard {
  call: ProviderCall;
  circuitState(provider: string): CircuitState;
}

// No new attempt starts with less than this left of a call's time budget.
const RESERVE_MS = 100;
const CIRCUIT_GAUGE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * Wraps every live provider call in, from the outside in: the unlisted-symbol isolation (symbols
 * a provider refused as unknown are not asked for `unlistedTtlMs`, and a request refused for one
 * is asked again without it, see `unlisted-symbols.ts`), the shared answer cache (a cached
 * answer costs nothing and is served even while the circuit is open), the circuit breaker,
 * the cross-replica lock (one replica asks, the others wait for its answer), then retries
 * (p-retry, jittered, only retryable errors, inside the call's deadline), each attempt taking
 * its cost from the shared rate limit first and honouring a pause a 429/418 set. A call that
 * is not made throws `ProviderSkipped`, so the chain falls back and says why. Replay and
 * synthetic providers are called as they are.
 */
export function createProviderGuard(deps: GuardDeps): ProviderGuard {
  const { settings, metrics } = deps;
  const log = deps.log.child({ component: 'provider-guard' });
  const now = deps.now ?? Date.now;
  const answers = new SharedAnswers(deps.cache, { ttlMs: settings.cacheTtlMs, lockWaitMs: settings.cacheLockWaitMs, now });
  const m = scraperMetrics(metrics);
  const breakers = new Map<string, CircuitBreaker>();
  const limiters = new Map<string, RateLimiter>();

  function breakerOf(name: string): CircuitBreaker {
    let breaker = breakers.get(name);
    if (!breaker) {
      m.circuit.set({ provider: name }, 0);
      for (const counter of [m.cacheHits, m.upstream, m.retries, m.waits, m.waitSeconds, m.circuitSkips, m.unlisted]) {
        counter.inc({ provider: name }, 0);
      }
      breaker = new CircuitBreaker(name, settings.circuit, now, (state) => {
        m.circuit.set({ provider: name }, CIRCUIT_GAUGE[state]);
        log.info({ provider: name, state }, `Circuit of ${name} is now ${state.replace('_', '-')}`);
      });
      breakers.set(name, breaker);
    }
    return breaker;
  }

  function limiterOf(name: string): RateLimiter {
    let limiter = limiters.get(name);
    if (!limiter) {
      const budget = settings.rateLimits[name] ?? { limit: Number.MAX_SAFE_INTEGER, windowMs: 60_000 };
      limiter = new RateLimiter(name, deps.cache, budget, now, deps.sleep);
      limiters.set(name, limiter);
    }
    return limiter;
  }

  function served(name: string, context: CallContext, outcome: Outcome): ProviderResult {
    context.notes.cacheHit = true;
    m.cacheHits.inc({ provider: name });
    if ('ok' in outcome) return outcome.ok;
    throw outcome.error;
  }

  async function ask(provider: PriceProvider, plan: RequestPlan, symbols: string[], signal: AbortSignal, context: CallContext) {
    const name = provider.name;
    const limiter = limiterOf(name);
    const callSignal = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, context.deadline - now()))]);
    return retryWithinBudget(
      `${name}: asking for ${symbols.length} symbols`,
      async () => {
        const decision = await limiter.take(plan.cost, context.deadline - now() - RESERVE_MS);
        if (!decision.granted) {
          m.denials.inc({ provider: name, reason: decision.kind });
          throw new ProviderSkipped(decision.kind, decision.reason);
        }
        if (decision.waitedMs > 0) {
          m.waits.inc({ provider: name });
          m.waitSeconds.inc({ provider: name }, decision.waitedMs / 1000);
        }
        context.notes.upstream++;
        m.upstream.inc({ provider: name });
        try {
          return await provider.fetch(symbols, callSignal);
        } catch (error) {
          await pauseIfAsked(limiter, error);
          throw error;
        }
      },
      {
        ...settings.retry,
        budgetMs: context.deadline - now(),
        reserveMs: RESERVE_MS,
        signal,
        // A 429 is tried again only when it said how long to wait (the limiter then waits it out).
        retryable: (error) =>
          !(error instanceof ProviderSkipped) &&
          isRetryable(error) &&
          !(error instanceof ProviderHttpError && error.code === 'PROVIDER_RATE_LIMITED' && error.retryAfterMs === undefined),
        waitHintMs: (error) => (error instanceof ProviderHttpError ? error.retryAfterMs : undefined),
        onRetry: (error, attempt) => {
          m.retries.inc({ provider: name });
          log.debug({ provider: name, attempt, err: messageOf(error) }, 'Retrying a provider call');
        },
      },
    );
  }

  async function pauseIfAsked(limiter: RateLimiter, error: unknown): Promise<void> {
    if (!(error instanceof ProviderHttpError)) return;
    if (error.code === 'PROVIDER_RATE_LIMITED') {
      const ms = error.retryAfterMs ?? settings.rateLimitedPauseMs;
      await limiter.pauseFor(ms, `rate limited (${error.status ? `HTTP ${error.status}` : 'error body'}), asked to wait ${ms / 1000} s`);
    } else if (error.code === 'PROVIDER_BANNED') {
      const ms = error.retryAfterMs ?? settings.bannedPauseMs;
      await limiter.pauseFor(ms, `banned (HTTP ${error.status ?? 418}) for ${ms / 1000} s`);
    }
  }

  const call: ProviderCall = async (provider, symbols, signal, context) => {
    if (provider.kind !== 'live') return callProvider(provider, symbols, signal, context);
    const plan = planOf(provider, symbols);
    // Nothing to send (no symbol known here): the provider answers empty without a request.
    if (!plan) return provider.fetch(symbols, signal);
    const name = provider.name;
    const cached = await answers.read(plan.key);
    if (cached) return served(name, context, cached);
    const breaker = breakerOf(name);
    const decision = breaker.allow();
    if (!decision.allowed) {
      m.circuitSkips.inc({ provider: name });
      throw new ProviderSkipped('circuit_open', decision.reason);
    }
    try {
      if (!(await answers.claim(plan.key, context.deadline - now()))) {
        const shared = await answers.waitFor(plan.key, context.deadline - now() - RESERVE_MS);
        if (shared) {
          breaker.release();
          return served(name, context, shared);
        }
      }
      const result = await ask(provider, plan, symbols, signal, context);
      breaker.success();
      await answers.store(plan.key, { ok: result });
      return result;
    } catch (error) {
      if (error instanceof ProviderSkipped) {
        breaker.release();
        throw error;
      }
      // A refusal of an unknown symbol is the provider answering as documented, not the provider failing.
      if (isUnlistedRefusal(error)) breaker.success();
      else breaker.failure(messageOf(error));
      if (!signal.aborted) await answers.store(plan.key, { error });
      throw error;
    }
  };

  const unlisted = new UnlistedSymbols(settings.unlistedTtlMs, now);
  const isolated = isolateUnlisted(call, unlisted, (provider, symbol, why) => {
    m.unlisted.inc({ provider });
    log.info(
      { provider, symbol, forMs: settings.unlistedTtlMs, answer: why },
      `${provider} does not list ${symbol}: its other symbols are asked without it, and ${symbol} goes to the next provider`,
    );
  });

  return { call: isolated, circuitState: (name) => breakerOf(name).state };
}

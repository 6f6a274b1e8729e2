import type { Cache } from '../core/ports/cache.ts';

/** A provider's budget: at most `limit` cost units (calls, or request weight) per fixed window. */
export interface RateBudget {
  limit: number;
  windowMs: number;
}

/**
 * What `take` answers: go ahead (after waiting `waitedMs`), or not in this poll. `kind` says
 * why not: `rate_limited` when our own budget is used up, `backing_off` when the provider
 * itself asked us to stay away (429 Retry-After, 418 ban) and that time has not passed.
 */
export type LimitDecision =
  { granted: true; waitedMs: number } | { granted: false; kind: 'rate_limited' | 'backing_off'; retryInMs: number; reason: string };

/** A provider-asked pause as stored in the cache. */
interface Pause {
  until: number;
  reason: string;
}

/**
 * The rate limit of one provider, kept in the cache so every replica draws from one budget:
 * a counter per fixed window (`increment` with the window as expiry), and a pause that a 429
 * or 418 sets for the time the provider gave. Nothing is sent that the budget does not allow:
 * a call that does not fit waits for the next window when that is within `maxWaitMs`, and is
 * denied otherwise, so the poll can fall back instead of blocking. Counting is conservative:
 * a denied call gives its cost back, so a race can only deny a call, never let one too many through.
 */
export class RateLimiter {
  constructor(
    readonly name: string,
    private readonly cache: Cache,
    private readonly budget: RateBudget,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /** Takes `cost` units from the budget, waiting at most `maxWaitMs` for room. */
  async take(cost: number, maxWaitMs: number): Promise<LimitDecision> {
    const { limit, windowMs } = this.budget;
    if (cost > limit) {
      return {
        granted: false,
        kind: 'rate_limited',
        retryInMs: Infinity,
        reason: `${this.name}: one call costs ${cost}, more than the whole budget of ${limit} per ${windowMs / 1000} s`,
      };
    }
    let waitedMs = 0;
    for (;;) {
      const pause = await this.pause();
      if (pause) {
        const waitMs = pause.until - this.now();
        if (waitedMs + waitMs > maxWaitMs) {
          return {
            granted: false,
            kind: 'backing_off',
            retryInMs: waitMs,
            reason: `${this.name}: ${pause.reason}; not asked again before ${new Date(pause.until).toISOString()}`,
          };
        }
        await this.sleep(waitMs);
        waitedMs += waitMs;
        continue;
      }
      const at = this.now();
      const window = Math.floor(at / windowMs);
      const key = `scraper:ratelimit:${this.name}:${window}`;
      const ttlSeconds = windowMs / 1000 + 1;
      const used = await this.cache.increment(key, cost, ttlSeconds);
      if (used <= limit) return { granted: true, waitedMs };
      await this.cache.increment(key, -cost, ttlSeconds);
      const waitMs = (window + 1) * windowMs - at;
      if (waitedMs + waitMs > maxWaitMs) {
        return {
          granted: false,
          kind: 'rate_limited',
          retryInMs: waitMs,
          reason: `${this.name}: rate limit of ${limit} per ${windowMs / 1000} s used up; room again in ${Math.ceil(waitMs / 1000)} s`,
        };
      }
      await this.sleep(waitMs);
      waitedMs += waitMs;
    }
  }

  /** The provider asked not to be called for `ms` (Retry-After, a ban): no replica asks it before then. */
  async pauseFor(ms: number, reason: string): Promise<void> {
    const pause: Pause = { until: this.now() + ms, reason };
    await this.cache.set(this.pauseKey(), JSON.stringify(pause), Math.max(0.001, ms / 1000));
  }

  private async pause(): Promise<Pause | undefined> {
    const text = await this.cache.get(this.pauseKey());
    if (text === undefined) return undefined;
    try {
      const pause = JSON.parse(text) as Pause;
      return typeof pause.until === 'number' && pause.until > this.now() ? pause : undefined;
    } catch {
      return undefined;
    }
  }

  private pauseKey(): string {
    return `scraper:backoff:${this.name}`;
  }
}

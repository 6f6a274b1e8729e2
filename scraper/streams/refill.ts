import { isRetryable, messageOf } from '../../core/errors.ts';
import type { RateLimiter } from '../rate-limiter.ts';
import { ProviderHttpError } from '../providers/http.ts';
import { remainingRuns } from './sequence.ts';
import type { HistoryRange, TradeHistory, VenueTrade } from './venues/venue.ts';

export interface RefillOptions {
  history: TradeHistory;
  /** The venue's shared REST budget (the pollers draw from the same one). */
  limiter: Pick<RateLimiter, 'take' | 'pauseFor'>;
  /** Retries after a retryable failure (network, 5xx, 429). */
  retries: number;
  /** Most ids fetched back for one hole; the rest is given up. */
  maxTrades: number;
  /** Pause after a 429 that named no Retry-After, ms. */
  rateLimitedPauseMs: number;
  /** Longest wait for room in the rate budget before a page, ms. */
  maxBudgetWaitMs: number;
  signal: AbortSignal;
  /** Receives each page's trades from the range, not seen before, in id order; its promise is awaited (backpressure). */
  onTrades(trades: VenueTrade[]): Promise<void>;
  sleep?: (ms: number) => Promise<void>;
}

/** What a refill got back and what stays missing, with why. */
export interface RefillResult {
  refilled: number;
  missing: { first: number; last: number }[];
  /** Why `missing` is not empty. */
  reason: string;
}

/**
 * Fetches the trades of one hole back from the venue's REST history, page by page within the
 * rate budget, retrying failures that can be retried. Trades outside the hole or fetched twice are
 * ignored. What REST does not return is reported as missing runs with the reason, for a gap record.
 */
export async function refillHole(range: HistoryRange, options: RefillOptions): Promise<RefillResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const capped = range.last - range.first + 1 > options.maxTrades;
  const target = capped ? { ...range, last: range.first + options.maxTrades - 1 } : range;
  const got = new Set<number>();
  let failure: string | undefined;
  for (let attempt = 0; attempt <= options.retries; attempt += 1) {
    const runs = remainingRuns(target, got);
    if (runs.length === 0) break;
    try {
      await fetchRange({ ...target, first: runs[0]!.first, last: runs.at(-1)!.last }, got, options);
      failure = undefined;
      break;
    } catch (error) {
      failure = messageOf(error);
      if (options.signal.aborted || !isRetryable(error) || attempt === options.retries) break;
      const asked = error instanceof ProviderHttpError ? error.retryAfterMs : undefined;
      if (error instanceof ProviderHttpError && error.code === 'PROVIDER_RATE_LIMITED') {
        await options.limiter.pauseFor(asked ?? options.rateLimitedPauseMs, 'answered 429 to a trade refill');
      }
      await sleep(Math.min(30_000, 250 * 2 ** attempt * (1 + Math.random())));
    }
  }
  const missing = remainingRuns(range, got);
  let reason = 'the venue\u2019s REST history did not return them';
  if (failure) reason = `REST refill failed: ${failure}`;
  else if (capped && missing.some((run) => run.last > target.last))
    reason = `more than ${options.maxTrades} trades missed at once (STREAM_REFILL_MAX_TRADES); the rest was not fetched`;
  return { refilled: got.size, missing, reason: reason.slice(0, 500) };
}

/** Walks the venue's history over `range`, handing on the trades not got yet. */
async function fetchRange(range: HistoryRange, got: Set<number>, options: RefillOptions): Promise<void> {
  const pages = options.history.fetch(range, options.signal)[Symbol.asyncIterator]();
  for (;;) {
    const decision = await options.limiter.take(options.history.pageCost, options.maxBudgetWaitMs);
    if (!decision.granted) throw new ProviderHttpError('PROVIDER_RATE_LIMITED', decision.reason, { retryable: true });
    const page = await pages.next();
    if (page.done) return;
    const fresh: VenueTrade[] = [];
    for (const trade of [...page.value].sort((a, b) => a.tradeId - b.tradeId)) {
      if (trade.tradeId < range.first || trade.tradeId > range.last || got.has(trade.tradeId)) continue;
      got.add(trade.tradeId);
      fresh.push(trade);
    }
    if (fresh.length > 0) await options.onTrades(fresh);
  }
}

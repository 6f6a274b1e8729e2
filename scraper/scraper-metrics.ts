import type { Metrics } from '../core/metrics.ts';

/**
 * The scraper's Prometheus metrics (polls, provider calls and the guarded path they go through),
 * registered once per registry. Every label is bounded: `provider`, `from` and `source` are the
 * providers of the chain, `outcome` is `ok` or a failure kind (`failureKind`), `reason` a kind of
 * denial. The README's metrics table is generated from this declaration.
 */
export function scraperMetrics(metrics: Metrics) {
  return {
    polls: metrics.counter('scraper_polls_total', 'Polls run.'),
    published: metrics.counter('scraper_records_published_total', 'Price records published to the bus.'),
    publishFailures: metrics.counter('scraper_publish_failures_total', 'Bus publishes that failed; their records were lost.'),
    deadLetters: metrics.counter(
      'scraper_dead_letters_total',
      'Observations and payload fragments sent to the dead-letter topic, by provider.',
      ['source'],
    ),
    requests: metrics.counter('scraper_provider_requests_total', 'Provider calls by outcome (ok, http_429, timeout, ...).', [
      'provider',
      'outcome',
    ]),
    latency: metrics.histogram('scraper_provider_latency_seconds', 'Time of one provider call, s.', ['provider']),
    fallbacks: metrics.counter('scraper_fallbacks_total', 'Symbols handed from one provider to the next.', ['from']),
    unserved: metrics.gauge('scraper_unserved_symbols', 'Symbols no provider served in the last poll.'),
    cacheHits: metrics.counter('scraper_cache_hits_total', 'Provider answers served from the shared cache.', ['provider']),
    upstream: metrics.counter('scraper_upstream_requests_total', 'Calls sent to a provider, retries included.', ['provider']),
    retries: metrics.counter('scraper_provider_retries_total', 'Provider calls tried again after a retryable failure.', ['provider']),
    waits: metrics.counter('scraper_rate_limit_waits_total', 'Calls that waited for room in the rate limit.', ['provider']),
    waitSeconds: metrics.counter('scraper_rate_limit_wait_seconds_total', 'Time spent waiting for the rate limit, s.', ['provider']),
    denials: metrics.counter('scraper_rate_limit_denials_total', 'Calls not made: budget used up or provider-asked pause.', [
      'provider',
      'reason',
    ]),
    circuit: metrics.gauge('scraper_circuit_state', 'Circuit of each provider: 0 closed, 1 half-open, 2 open.', ['provider']),
    circuitSkips: metrics.counter('scraper_circuit_skips_total', 'Calls skipped because the circuit was open.', ['provider']),
    unlisted: metrics.counter('scraper_unlisted_symbols_total', 'Symbols a provider refused as not listed, each time found.', ['provider']),
    sharedCacheDegraded: metrics.gauge(
      'scraper_shared_cache_degraded',
      '1 while the shared cache is unreachable and this process caches alone.',
    ),
  };
}

/** The scraper's metrics, as `scraperMetrics` makes them. */
export type ScraperMetrics = ReturnType<typeof scraperMetrics>;

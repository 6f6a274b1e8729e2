import type { Adapters } from '../core/adapters/select.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import { guardSettings, loadScraperConfig } from './config.ts';
import { FailoverCache } from './failover-cache.ts';
import { createProviderGuard } from './guarded-call.ts';
import { createProviders } from './providers/index.ts';
import type { SyntheticWorld } from './synthetic-world.ts';
import { createScraper, type Scraper } from './scraper.ts';
import { scraperMetrics } from './scraper-metrics.ts';
import { loadStreamsConfig } from './streams/config.ts';
import { startStreams } from './streams/start.ts';

/**
 * Builds and starts the scraper on adapters the caller opened (the one-process `main.ts` shares
 * its adapters this way). Reads the scraper settings from `env`; throws a `CONFIG_INVALID`
 * `LakeError` when they are wrong. Every live provider call goes through the provider guard
 * (shared cache, rate limits, retries, circuit breaker) on a cache that falls back to this
 * process alone when Redis goes away. The returned scraper's `stop()` waits for the poll in
 * flight and closes the providers, but not the adapters, which belong to the caller. With
 * `STREAM_VENUES` set, the exchanges' trade streams (`streams/`) run beside the polls and stop first.
 * `shared.world` is the made-up market of `npm run demo`: the synthetic provider quotes it, so its
 * prices follow the same walk as the demo venues' trades.
 */
export async function startScraper(
  adapters: Pick<Adapters, 'bus' | 'cache'> & { lake?: Adapters['lake'] | undefined },
  env: Record<string, string | undefined>,
  log: Logger,
  metrics: Metrics,
  shared: { world?: SyntheticWorld | undefined } = {},
): Promise<Scraper> {
  const config = loadScraperConfig(env);
  const streamsConfig = loadStreamsConfig(env);
  const providers = createProviders(config, { log, world: shared.world });
  const degraded = scraperMetrics(metrics).sharedCacheDegraded;
  degraded.set(0);
  const cache = new FailoverCache(adapters.cache, {
    retryAfterMs: config.sharedCacheRetryMs,
    log,
    events: { onDown: () => degraded.set(1), onUp: () => degraded.set(0) },
  });
  const guard = createProviderGuard({ cache, settings: guardSettings(config), metrics, log });
  const scraper = createScraper({ bus: adapters.bus, cache, providers, config, log, metrics, call: guard.call });
  // The streams share the failover cache: with Redis away their marks and status stay in this process.
  const streams = await startStreams({ ...adapters, cache }, streamsConfig, config, log, metrics);
  scraper.start();
  return {
    ...scraper,
    async stop() {
      await streams?.stop();
      await scraper.stop();
      await Promise.all(providers.map((provider) => provider.close?.()));
      await cache.close();
    },
  };
}

import type { Adapters } from '../core/adapters/select.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import { loadScraperConfig } from './config.ts';
import { createProviders } from './providers/index.ts';
import { createScraper, type Scraper } from './scraper.ts';

/**
 * Builds and starts the scraper on adapters the caller opened (the one-process `main.ts` shares
 * its adapters this way). Reads the scraper settings from `env`; throws a `CONFIG_INVALID`
 * `LakeError` when they are wrong. The returned scraper's `stop()` waits for the poll in flight
 * and closes the providers, but not the adapters, which belong to the caller.
 */
export async function startScraper(
  adapters: Pick<Adapters, 'bus' | 'cache'>,
  env: Record<string, string | undefined>,
  log: Logger,
  metrics: Metrics,
): Promise<Scraper> {
  const config = loadScraperConfig(env);
  const providers = createProviders(config, { log });
  const scraper = createScraper({ bus: adapters.bus, cache: adapters.cache, providers, config, log, metrics });
  scraper.start();
  return {
    ...scraper,
    async stop() {
      await scraper.stop();
      await Promise.all(providers.map((provider) => provider.close?.()));
    },
  };
}

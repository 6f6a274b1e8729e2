import { pathToFileURL } from 'node:url';
import { openAdapters, type Adapters } from '../core/adapters/select.ts';
import { LakeError } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
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

async function main(): Promise<void> {
  const log = createLogger();
  let adapters: Adapters | undefined;
  let scraper: Scraper;
  try {
    loadScraperConfig(process.env);
    adapters = await openAdapters(process.env, log);
    scraper = await startScraper(adapters, process.env, log, new Metrics());
  } catch (error) {
    await adapters?.close();
    if (error instanceof LakeError && error.code === 'CONFIG_INVALID') {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'Stopping the scraper');
    await scraper.stop();
    await adapters?.close();
    process.exit(0);
  };
  process.once('SIGINT', (signal) => void shutdown(signal));
  process.once('SIGTERM', (signal) => void shutdown(signal));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();

import type { Adapters } from '../core/adapters/select.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import { loadProcessorConfig } from './config.ts';
import { createProcessor, type Processor } from './processor.ts';

/**
 * Starts a processor on adapters someone else opened (the one-process `npm start` shares them
 * with the scraper and lake-query). Throws `CONFIG_INVALID` when the environment is invalid.
 * The caller owns the adapters: stop the processor (or drain, then stop) before closing them.
 */
export async function startProcessor(
  adapters: Adapters,
  env: Record<string, string | undefined>,
  log: Logger,
  metrics: Metrics,
): Promise<Processor> {
  const config = loadProcessorConfig(env);
  const processor = createProcessor({ bus: adapters.bus, store: adapters.store, cache: adapters.cache, config, log, metrics });
  await processor.start();
  return processor;
}

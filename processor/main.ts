import { pathToFileURL } from 'node:url';
import { openAdapters, type Adapters } from '../core/adapters/select.ts';
import { LakeError, messageOf } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { loadProcessorConfig } from './config.ts';
import { createProcessor, type Processor } from './processor.ts';

/**
 * Starts a processor on adapters someone else opened (the one-process `npm start` shares them
 * with the scraper and lake-query). Throws `CONFIG_INVALID` when the environment is invalid.
 * The caller owns the adapters: stop the processor (or drain, then stop) before closing them.
 */
export async function startProcessor(adapters: Adapters, env: Record<string, string | undefined>, log: Logger, metrics: Metrics): Promise<Processor> {
  const config = loadProcessorConfig(env);
  const processor = createProcessor({ bus: adapters.bus, store: adapters.store, cache: adapters.cache, config, log, metrics });
  await processor.start();
  return processor;
}

/** `npm run processor`: the processor alone, until SIGINT or SIGTERM. */
async function main(): Promise<void> {
  const log = createLogger();
  try {
    loadProcessorConfig(process.env);
  } catch (error) {
    if (error instanceof LakeError && error.code === 'CONFIG_INVALID') {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const adapters = await openAdapters(process.env, log);
  const processor = await startProcessor(adapters, process.env, log, new Metrics());
  // The processor's own timers do not hold the process open; this does, until a signal.
  const keepAlive = setInterval(() => undefined, 60_000);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(keepAlive);
    log.info({ signal }, 'Stopping the processor');
    await processor.stop();
    await adapters.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    process.stderr.write(`processor: ${messageOf(error)}\n`);
    process.exit(1);
  });
}

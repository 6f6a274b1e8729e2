import { z } from 'zod';
import { createLogger, type Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { loadConfig } from './config.ts';
import { openAdapters, type Adapters } from './adapters/select.ts';
import { serveHealth } from './health-server.ts';
import { onShutdown, runMain } from './process.ts';

/** Settings every part has when it runs as a process of its own. */
export const partConfigSchema = z.object({
  healthPort: z.coerce
    .number({ error: 'expected a port number' })
    .int()
    .min(0)
    .max(65_535)
    .optional()
    .describe('Port of the /health and /metrics endpoint of the scraper or processor run on its own. Default: none (not served).'),
  healthHost: z.string().default('127.0.0.1').describe('Interface of that endpoint.'),
});

/** A started part: what `runPart` needs to stop it and report on it. */
export interface RunningPart {
  stop(): Promise<void>;
  status(): unknown;
}

export type StartPart<P extends RunningPart> = (
  adapters: Adapters,
  env: Record<string, string | undefined>,
  log: Logger,
  metrics: Metrics,
) => Promise<P>;

/**
 * Runs one part as its own process (`npm run scraper`, `npm run processor`): validates its
 * settings before connecting anything, opens the adapters the environment chooses, starts the
 * part, serves /health and /metrics when HEALTH_PORT is set, and on SIGINT/SIGTERM stops the
 * part (which flushes and commits) before closing the adapters.
 */
export async function runPart<P extends RunningPart>(
  name: string,
  loadPartConfig: (env: Record<string, string | undefined>) => unknown,
  start: StartPart<P>,
): Promise<void> {
  const env = process.env;
  const log = createLogger().child({ part: name });
  await runMain(log, async () => {
    loadPartConfig(env);
    const settings = loadConfig(partConfigSchema, env);
    const metrics = new Metrics({ processMetrics: true });
    const adapters = await openAdapters(env, log);
    const part = await start(adapters, env, log, metrics).catch(async (error: unknown) => {
      await adapters.close();
      throw error;
    });
    const health =
      settings.healthPort === undefined
        ? undefined
        : await serveHealth({
            port: settings.healthPort,
            host: settings.healthHost,
            metrics,
            status: () => part.status(),
            checks: { bus: () => adapters.bus.health(), store: () => adapters.store.health(), cache: () => adapters.cache.health() },
          });
    // Keeps the process alive on the in-memory bus, which holds no socket open.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    log.info({ adapters: adapters.description, healthPort: health?.port }, `${name} is running`);
    onShutdown(log, async () => {
      await part.stop();
      clearInterval(keepAlive);
      await health?.close();
      await adapters.close();
    });
  });
}

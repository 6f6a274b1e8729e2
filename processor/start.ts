import type { Adapters } from '../core/adapters/select.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import { createAlerter } from './alerts/alerter.ts';
import { loadAlertRules } from './alerts/rules.ts';
import { loadProcessorConfig } from './config.ts';
import { scheduleMaintenance } from './maintenance-schedule.ts';
import { createProcessor, type Processor } from './processor.ts';

/**
 * Starts a processor on adapters someone else opened (the one-process `npm start` shares them
 * with the scraper and lake-query), the alerter beside it when alert rules are configured, and the
 * lake maintenance when MAINTENANCE_INTERVAL_MS is set. Throws `CONFIG_INVALID` when the
 * environment (or a rule) is invalid. The caller owns the adapters: stop the processor (or drain,
 * then stop) before closing them.
 */
export async function startProcessor(
  adapters: Adapters,
  env: Record<string, string | undefined>,
  log: Logger,
  metrics: Metrics,
): Promise<Processor> {
  const config = loadProcessorConfig(env);
  const rules = loadAlertRules(env);
  const processor = createProcessor({ bus: adapters.bus, lake: adapters.lake, cache: adapters.cache, config, log, metrics });
  await processor.start();
  const maintenance =
    config.maintenanceIntervalMs > 0
      ? scheduleMaintenance(adapters.lake, { ...config, intervalMs: config.maintenanceIntervalMs }, log)
      : undefined;
  const alerter =
    rules.length > 0
      ? createAlerter({ bus: adapters.bus, store: adapters.store, cache: adapters.cache, rules, config, log, metrics })
      : undefined;
  try {
    await alerter?.start();
  } catch (error) {
    await maintenance?.stop();
    await processor.stop();
    throw error;
  }
  return {
    start: () => processor.start(),
    // The alerts of everything published reach the alerts topic first, then the processor writes them.
    async drain(timeoutMs) {
      await alerter?.drain(timeoutMs);
      await processor.drain(timeoutMs);
    },
    async stop() {
      await alerter?.stop();
      await maintenance?.stop();
      await processor.stop();
    },
    status: () => processor.status(),
  };
}

import { z } from 'zod';
import { loadConfig, positiveInt } from '../core/config.ts';
import { lakeLocationSchema } from '../core/lake-location.ts';
import { topicsConfigSchema } from '../core/records/topics.ts';
import { alertSettingsSchema } from './alerts/settings.ts';
import { loadAlertRules } from './alerts/rules.ts';

/** The processor's settings: batching, memory, consumer group and topics, plus where the lake is. */
export const processorConfigSchema = lakeLocationSchema.extend(topicsConfigSchema.shape).extend({
  flushIntervalMs: positiveInt()
    .default(1_000)
    .describe(
      'Longest a record waits before it is committed to the lake, in ms: the lake answers for a record about this long after it was published. Default 1000.',
    ),
  flushMaxRecords: positiveInt()
    .default(100_000)
    .describe('Records (of every partition this processor owns) that fill a flush and commit it at once. Default 100000.'),
  maxBufferedBytes: positiveInt()
    .default(64 * 1024 * 1024)
    .describe(
      'Estimated bytes of consumed records not yet committed (the flush being written and the next one filling); consumption waits above it. Default 67108864 (64 MiB).',
    ),
  maintenanceIntervalMs: z.coerce
    .number({ error: 'expected a number' })
    .int()
    .min(0)
    .default(0)
    .describe(
      'How often this processor runs the lake maintenance of `npm run compact` (merge small files, write inlined rows out, merge rollup partials, expire old snapshots, delete unneeded files), in ms; 0 turns it off. Default 0 (`npm start` turns it on). Several replicas may run it: a pass that loses a race to another is skipped.',
    ),
  snapshotRetentionMs: z.coerce
    .number({ error: 'expected a number' })
    .int()
    .min(0)
    .default(7 * 24 * 3_600_000)
    .describe(
      'How long maintenance keeps old snapshots for time travel, in ms; files only older snapshots need are then deleted. Default 604800000 (7 days).',
    ),
  fileCleanupGraceMs: z.coerce
    .number({ error: 'expected a number' })
    .int()
    .min(0)
    .default(3_600_000)
    .describe(
      'How long a file replaced by a merge (or left by a failed write) stays before maintenance deletes it, in ms, so readers that planned with it finish. Default 3600000 (1 hour).',
    ),
  writerMemoryLimit: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)$/i, 'expected a size such as 512MB or 1GB')
    .default('512MB')
    .describe("Memory the processor's DuckDB may use to stage and commit (DuckDB `memory_limit`). Default `512MB`."),
  writerThreads: positiveInt().default(2).describe("Threads of the processor's DuckDB. Default 2."),
  kafkaGroup: z
    .string()
    .min(1)
    .default('cryptolake-processor')
    .describe('Consumer group of the processors; replicas in one group share the partitions. Default `cryptolake-processor`.'),
  ...alertSettingsSchema.shape,
});
export type ProcessorConfig = z.infer<typeof processorConfigSchema>;

/** Reads the processor's configuration from the environment; throws `CONFIG_INVALID` naming the variable. */
export function loadProcessorConfig(env: Record<string, string | undefined> = process.env): ProcessorConfig {
  const config = loadConfig(processorConfigSchema, env);
  // The rules are checked here too, so a bad rule stops the start before anything connects.
  loadAlertRules(env);
  return config;
}

import { z } from 'zod';
import { loadConfig, positiveInt } from '../core/config.ts';
import { lakeLocationSchema } from '../core/lake-location.ts';
import { topicsConfigSchema } from '../core/records/topics.ts';
import { alertSettingsSchema } from './alerts/settings.ts';
import { loadAlertRules } from './alerts/rules.ts';

/** The processor's settings: batching, memory, consumer group and topics, plus where the lake is. */
export const processorConfigSchema = lakeLocationSchema.extend(topicsConfigSchema.shape).extend({
  flushIntervalMs: positiveInt()
    .default(5_000)
    .describe('Longest a record waits in a batch before it is written to the lake, in ms. Default 5000.'),
  flushMaxRecords: positiveInt()
    .default(50_000)
    .describe('Records of one bus partition that fill a batch and write it at once. Default 50000.'),
  maxBufferedBytes: positiveInt()
    .default(64 * 1024 * 1024)
    .describe('Estimated bytes all batches may hold before the oldest are written and consumption pauses. Default 67108864 (64 MiB).'),
  compactIntervalMs: z.coerce
    .number({ error: 'expected a number' })
    .int()
    .min(0)
    .default(0)
    .describe(
      'How often the processor compacts the small files of every day folder, in ms; 0 turns it off. Default 0. Enable it on one replica only: two compactors at once are not safe.',
    ),
  compactTargetBytes: positiveInt()
    .default(128 * 1024 * 1024)
    .describe(
      'Size a compacted Parquet file aims for, in bytes (also `--target-bytes` of `npm run compact`). Default 134217728 (128 MiB).',
    ),
  compactGraceMs: z.coerce
    .number({ error: 'expected a number' })
    .int()
    .min(0)
    .default(60_000)
    .describe(
      'Time between committing a compaction and deleting its source files, in ms, so readers that listed them finish. Default 60000.',
    ),
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

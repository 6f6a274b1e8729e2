import { z } from 'zod';

/** The bus topics the parts agree on. Each name can be overridden in configuration. */
export const DEFAULT_TOPICS = {
  prices: 'prices',
  deadLetter: 'prices.dead-letter',
  alerts: 'alerts',
} as const;

/** The lake datasets: top-level folders of the lake, each hive-partitioned by event day. */
export const DATASETS = {
  prices: 'prices',
  deadLetter: 'dead-letter',
  alerts: 'alerts',
  /** 1-minute OHLCV partials of the prices, one file beside each raw prices file (processor/rollups.ts). */
  candles1m: 'candles_1m',
} as const;

/** Topic names, shared by every part that publishes or consumes them. */
export const topicsConfigSchema = z.object({
  kafkaTopic: z.string().min(1).default(DEFAULT_TOPICS.prices).describe('Bus topic of valid price records.'),
  deadLetterTopic: z
    .string()
    .min(1)
    .default(DEFAULT_TOPICS.deadLetter)
    .describe('Bus topic of rejected input (the scraper publishes its rejects here).'),
  alertsTopic: z
    .string()
    .min(1)
    .default(DEFAULT_TOPICS.alerts)
    .describe(
      'Bus topic of raised alerts (JSON `Alert`, keyed by symbol); the processor stores it as the `alerts` dataset. Default `alerts`.',
    ),
});

import { z } from 'zod';

/** The bus topics the parts agree on. Each name can be overridden in configuration. */
export const DEFAULT_TOPICS = {
  prices: 'prices',
  deadLetter: 'prices.dead-letter',
  alerts: 'alerts',
  trades: 'trades',
  gaps: 'gaps',
} as const;

/** Which topic, of the ones every part agrees on. */
export type TopicKey = keyof typeof DEFAULT_TOPICS;

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
  tradesTopic: z
    .string()
    .min(1)
    .default(DEFAULT_TOPICS.trades)
    .describe('Bus topic of exchange trades (JSON `Trade`, keyed by venue and market); stored as the `trades` dataset. Default `trades`.'),
  gapsTopic: z
    .string()
    .min(1)
    .default(DEFAULT_TOPICS.gaps)
    .describe('Bus topic of trade ranges missed and not refilled (JSON `Gap`); stored as the `gaps` dataset. Default `gaps`.'),
});

/** The configured name of each topic. */
export type TopicsConfig = z.infer<typeof topicsConfigSchema>;

/** The configured name of one topic. */
export function topicName(config: TopicsConfig, key: TopicKey): string {
  const field = {
    prices: 'kafkaTopic',
    deadLetter: 'deadLetterTopic',
    alerts: 'alertsTopic',
    trades: 'tradesTopic',
    gaps: 'gapsTopic',
  } as const satisfies Record<TopicKey, keyof TopicsConfig>;
  return config[field[key]];
}

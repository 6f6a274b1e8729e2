import { z } from 'zod';

/** The bus topics the parts agree on. Each name can be overridden in configuration. */
export const DEFAULT_TOPICS = {
  prices: 'prices',
  deadLetter: 'prices.dead-letter',
  alerts: 'alerts',
  trades: 'trades',
  gaps: 'gaps',
} as const;

/** The lake datasets: top-level folders of the lake, each hive-partitioned by event day. */
export const DATASETS = {
  prices: 'prices',
  deadLetter: 'dead-letter',
  alerts: 'alerts',
  /** 1-minute OHLCV partials of the prices, one file beside each raw prices file (processor/rollups.ts). */
  candles1m: 'candles_1m',
  /** Exchange trades from the venues' streams (and their REST history after a gap). */
  trades: 'trades',
  /** Trade ranges that were missed and could not be fetched back. */
  gaps: 'gaps',
  /** 1-minute OHLCV partials of the trades, with real volume, one file beside each raw trades file. */
  tradeCandles1m: 'trade_candles_1m',
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

/** The bus topics the parts agree on. Each name can be overridden in configuration. */
export const DEFAULT_TOPICS = {
  prices: 'prices',
  deadLetter: 'prices.dead-letter',
} as const;

/** The lake datasets: top-level folders of the lake, each hive-partitioned by event day. */
export const DATASETS = {
  prices: 'prices',
  deadLetter: 'dead-letter',
} as const;

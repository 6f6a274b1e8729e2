import type { Dataset, IngestedDataset, Rollup } from './dataset.ts';
import { alerts } from './alerts.ts';
import { CANDLE_GRAINS, candles1d, candles1h, candles1m } from './candles.ts';
import { deadLetters } from './dead-letters.ts';
import { gaps } from './gaps.ts';
import { prices } from './prices.ts';
import { TRADE_CANDLE_GRAINS, tradeCandles1d, tradeCandles1h, tradeCandles1m } from './trade-candles.ts';
import { trades } from './trades.ts';

export {
  alerts,
  CANDLE_GRAINS,
  candles1d,
  candles1h,
  candles1m,
  deadLetters,
  gaps,
  prices,
  TRADE_CANDLE_GRAINS,
  tradeCandles1d,
  tradeCandles1h,
  tradeCandles1m,
  trades,
};
export type { ColumnSpec, ColumnType, Dataset, IngestedDataset, PartitionGrain, Rollup } from './dataset.ts';
export { aggregates, mergeRule } from './dataset.ts';

/** Every table fed by a topic, in the order the processor subscribes. */
export const INGESTED: readonly IngestedDataset[] = [prices, deadLetters, alerts, trades, gaps];

/** Every rollup, each after what it summarises (a dataset, or the finer rollup that feeds it). */
export const ROLLUPS: readonly Rollup[] = [...CANDLE_GRAINS, ...TRADE_CANDLE_GRAINS];

/** Every dataset of the lake: what `npm run sql`, the SQL console and the catalog offer. */
export const DATASETS: readonly Dataset[] = [...INGESTED, ...ROLLUPS];

/** The rollups fed by one dataset or rollup directly (not those fed in turn by them). */
export function rollupsOf(source: Dataset): Rollup[] {
  return ROLLUPS.filter((rollup) => rollup.from === source.name);
}

/** The dataset or rollup a rollup summarises. */
export function sourceOf(rollup: Rollup): Dataset {
  const source = DATASETS.find((dataset) => dataset.name === rollup.from);
  if (!source) throw new Error(`rollup ${rollup.name}: no dataset named ${rollup.from}`);
  return source;
}

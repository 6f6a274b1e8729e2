import type { Dataset, IngestedDataset, Rollup } from './dataset.ts';
import { alerts } from './alerts.ts';
import { candles1m } from './candles.ts';
import { deadLetters } from './dead-letters.ts';
import { gaps } from './gaps.ts';
import { prices } from './prices.ts';
import { tradeCandles1m } from './trade-candles.ts';
import { trades } from './trades.ts';

export { alerts, candles1m, deadLetters, gaps, prices, tradeCandles1m, trades };
export type { ColumnSpec, ColumnType, Dataset, IngestedDataset, Rollup } from './dataset.ts';

/** Every table fed by a topic, in the order the processor subscribes. */
export const INGESTED: readonly IngestedDataset[] = [prices, deadLetters, alerts, trades, gaps];

/** Every rollup, each after the dataset it summarises. */
export const ROLLUPS: readonly Rollup[] = [candles1m, tradeCandles1m];

/** Every dataset of the lake: what `npm run sql`, the SQL console and the catalog offer. */
export const DATASETS: readonly Dataset[] = [...INGESTED, ...ROLLUPS];

/** The rollups of one ingested dataset. */
export function rollupsOf(dataset: IngestedDataset): Rollup[] {
  return ROLLUPS.filter((rollup) => rollup.from === dataset.name);
}

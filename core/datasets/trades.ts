import { Trade, validateTrade } from '../records/trade.ts';
import type { IngestedDataset } from './dataset.ts';

/** Exchange trades from the venues' streams and, after a gap, their REST history. */
export const trades: IngestedDataset<Trade> = {
  kind: 'ingested',
  name: 'trades',
  summary: 'one trade of one exchange market: id `venue:market:trade_id`, the same whether it came live or from REST',
  topic: 'trades',
  record: Trade,
  validate: validateTrade,
  columns: [
    ['id', 'VARCHAR'],
    ['ts', 'TIMESTAMP'],
    ['symbol', 'VARCHAR'],
    ['venue', 'VARCHAR'],
    ['market', 'VARCHAR'],
    ['price', 'DOUBLE'],
    ['qty', 'DOUBLE'],
    ['side', 'VARCHAR'],
    ['trade_id', 'BIGINT'],
    ['via', 'VARCHAR'],
    ['ingested_at', 'TIMESTAMP'],
  ],
  eventTime: 'ts',
  sortBy: ['venue', 'market', 'trade_id'],
  key: 'id',
  inlineRowLimit: 10_000,
};

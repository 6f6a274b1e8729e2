import { Trade, TRADE_ID_PARTS } from '../records/trade.ts';
import { HOT_INLINE_ROW_LIMIT, ingested } from './dataset.ts';

/** Exchange trades from the venues' streams and, after a gap, their REST history. */
export const trades = ingested<Trade>({
  name: 'trades',
  summary: 'one trade of one exchange market: id `venue:market:trade_id`, the same whether it came live or from REST',
  topic: 'trades',
  record: Trade,
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
  keyFrom: TRADE_ID_PARTS,
  inlineRowLimit: HOT_INLINE_ROW_LIMIT,
});

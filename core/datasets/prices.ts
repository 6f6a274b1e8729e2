import { PriceRecord, PRICE_ID_PARTS } from '../records/price.ts';
import { HOT_INLINE_ROW_LIMIT, ingested } from './dataset.ts';

/** Price observations from the scraper: one row per provider, symbol and event time. */
export const prices = ingested<PriceRecord>({
  name: 'prices',
  summary: 'one price observation of one provider: id `source:SYMBOL:event-time-ms`',
  topic: 'prices',
  record: PriceRecord,
  columns: [
    ['id', 'VARCHAR'],
    ['ts', 'TIMESTAMP'],
    ['symbol', 'VARCHAR'],
    ['source', 'VARCHAR'],
    ['price_usd', 'DOUBLE'],
    ['volume_24h_usd', 'DOUBLE'],
    ['market_cap_usd', 'DOUBLE'],
    ['change_24h_pct', 'DOUBLE'],
    ['ingested_at', 'TIMESTAMP'],
  ],
  eventTime: 'ts',
  sortBy: ['symbol', 'ts'],
  key: 'id',
  keyFrom: PRICE_ID_PARTS,
  inlineRowLimit: HOT_INLINE_ROW_LIMIT,
});

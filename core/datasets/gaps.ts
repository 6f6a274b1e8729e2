import { Gap } from '../records/gap.ts';
import { ingested } from './dataset.ts';

/** Trade ranges the stream readers missed and could not fetch back, by the time before the hole. */
export const gaps = ingested<Gap>({
  name: 'gaps',
  summary: 'trade ids of one market that are not in the lake and could not be fetched back, with why',
  topic: 'gaps',
  record: Gap,
  columns: [
    ['id', 'VARCHAR'],
    ['venue', 'VARCHAR'],
    ['market', 'VARCHAR'],
    ['symbol', 'VARCHAR'],
    ['first_trade_id', 'BIGINT'],
    ['last_trade_id', 'BIGINT'],
    ['missing', 'BIGINT'],
    ['from_ts', 'TIMESTAMP'],
    ['to_ts', 'TIMESTAMP'],
    ['cause', 'VARCHAR'],
    ['reason', 'VARCHAR'],
    ['detected_at', 'TIMESTAMP'],
  ],
  eventTime: 'from_ts',
  sortBy: ['venue', 'market', 'first_trade_id'],
  key: 'id',
  inlineRowLimit: 10_000,
});

import { DeadLetter } from '../records/dead-letter.ts';
import { ingested } from './dataset.ts';

/**
 * Input that could not enter the lake, with why and where it came from: the scraper's rejects
 * from their topic, and the processor's own rejects of any topic, by the time they were rejected.
 */
export const deadLetters = ingested<DeadLetter>({
  name: 'dead_letters',
  summary: 'one rejected input: the stage, where it came from (provider, or topic/partition/offset), the reason and the raw payload',
  topic: 'deadLetter',
  record: DeadLetter,
  columns: [
    ['at', 'TIMESTAMP'],
    ['stage', 'VARCHAR'],
    ['source', 'VARCHAR'],
    ['reason', 'VARCHAR'],
    ['payload', 'VARCHAR'],
  ],
  eventTime: 'at',
  sortBy: ['at', 'source'],
  inlineRowLimit: 10_000,
});

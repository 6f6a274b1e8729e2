import { Alert } from '../records/alert.ts';
import { ingested } from './dataset.ts';

/** Alerts raised by the alerter, by the event time of the price that fired them. */
export const alerts = ingested<Alert>({
  name: 'alerts',
  summary: 'one alert of one rule: id `rule:SYMBOL:source:event-time-ms`, raised again after a crash as the same id',
  topic: 'alerts',
  record: Alert,
  columns: [
    ['id', 'VARCHAR'],
    ['ts', 'TIMESTAMP'],
    ['rule', 'VARCHAR'],
    ['type', 'VARCHAR'],
    ['symbol', 'VARCHAR'],
    ['source', 'VARCHAR'],
    ['value', 'DOUBLE'],
    ['threshold', 'DOUBLE'],
    ['message', 'VARCHAR'],
    ['raised_at', 'TIMESTAMP'],
  ],
  eventTime: 'ts',
  sortBy: ['symbol', 'ts'],
  key: 'id',
  inlineRowLimit: 10_000,
});

import type { Rollup } from './dataset.ts';

/**
 * Candles of the prices, per symbol, source and period: open and close by event time, high, low,
 * the number of observations (`ticks`), and the provider's rolling 24h volume at the latest
 * observation that had one. Within one source and symbol the id is fixed by the time, so times
 * never tie inside a group.
 */
function candleRollup(name: string, period: string, periodColumn: string): Rollup {
  return {
    kind: 'rollup',
    name,
    summary: `${period} candles of the prices per symbol and source (one row per group; the partials are merged)`,
    from: 'prices',
    period,
    periodColumn,
    groupBy: ['symbol', 'source'],
    columns: [
      [periodColumn, 'TIMESTAMP'],
      ['symbol', 'VARCHAR'],
      ['source', 'VARCHAR'],
      ['open', 'DOUBLE'],
      ['open_ts', 'TIMESTAMP'],
      ['high', 'DOUBLE'],
      ['low', 'DOUBLE'],
      ['close', 'DOUBLE'],
      ['close_ts', 'TIMESTAMP'],
      ['ticks', 'BIGINT'],
      ['volume_24h_usd', 'DOUBLE'],
      ['volume_ts', 'TIMESTAMP'],
    ],
    derive: [
      `$period AS ${periodColumn}`,
      'symbol',
      'source',
      'arg_min(price_usd, ts) AS open',
      'min(ts) AS open_ts',
      'max(price_usd) AS high',
      'min(price_usd) AS low',
      'arg_max(price_usd, ts) AS close',
      'max(ts) AS close_ts',
      'count(*) AS ticks',
      // arg_max skips NULL values: the volume of the latest observation that has one.
      'arg_max(volume_24h_usd, ts) AS volume_24h_usd',
      'max(ts) FILTER (WHERE volume_24h_usd IS NOT NULL) AS volume_ts',
    ],
    merge: [
      periodColumn,
      'symbol',
      'source',
      'arg_min(open, open_ts) AS open',
      'min(open_ts) AS open_ts',
      'max(high) AS high',
      'min(low) AS low',
      'arg_max(close, close_ts) AS close',
      'max(close_ts) AS close_ts',
      'sum(ticks)::BIGINT AS ticks',
      'arg_max(volume_24h_usd, volume_ts) AS volume_24h_usd',
      'max(volume_ts) AS volume_ts',
    ],
    sortBy: ['symbol', 'source', periodColumn],
    inlineRowLimit: 10_000,
  };
}

/** 1-minute candles of the prices. */
export const candles1m = candleRollup('candles_1m', '1 minute', 'minute');

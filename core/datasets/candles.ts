import { HOT_INLINE_ROW_LIMIT, coarserRollup, type PartitionGrain, type Rollup } from './dataset.ts';

/**
 * Candles of the prices, per symbol, source and period: open and close by event time, high, low,
 * the number of observations (`ticks`), the provider's rolling 24h volume at the latest
 * observation that had one, and the close observation's own 24h change, market cap and ingestion
 * time (what the latest-prices table shows, so it never reads the raw rows). Within one source
 * and symbol the id is fixed by the time, so times never tie inside a group.
 */
function candleRollup(name: string, period: string, periodMs: number, periodColumn: string, partitionBy: PartitionGrain): Rollup {
  return {
    kind: 'rollup',
    name,
    summary: `${period} candles of the prices per symbol and source (one row per group; the partials are merged)`,
    from: 'prices',
    period,
    periodMs,
    periodColumn,
    partitionBy,
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
      ['close_change_24h_pct', 'DOUBLE'],
      ['close_market_cap_usd', 'DOUBLE'],
      ['close_ingested_at', 'TIMESTAMP'],
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
      // arg_max_null keeps them: the close observation's own values, NULL when it had none.
      'arg_max_null(change_24h_pct, ts) AS close_change_24h_pct',
      'arg_max_null(market_cap_usd, ts) AS close_market_cap_usd',
      'arg_max_null(ingested_at, ts) AS close_ingested_at',
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
      'arg_max_null(close_change_24h_pct, close_ts) AS close_change_24h_pct',
      'arg_max_null(close_market_cap_usd, close_ts) AS close_market_cap_usd',
      'arg_max_null(close_ingested_at, close_ts) AS close_ingested_at',
    ],
    sortBy: ['symbol', 'source', periodColumn],
    inlineRowLimit: HOT_INLINE_ROW_LIMIT,
  };
}

/** 1-minute candles of the prices. */
export const candles1m = candleRollup('candles_1m', '1 minute', 60_000, 'minute', 'day');

/** Hourly candles, merged from the 1-minute partials of each commit; a month per partition. */
export const candles1h = coarserRollup(candles1m, {
  name: 'candles_1h',
  summary: 'hourly candles of the prices per symbol and source, fed by the 1-minute partials of each commit',
  period: '1 hour',
  periodMs: 3_600_000,
  periodColumn: 'hour',
  partitionBy: 'month',
});

/** Daily (UTC) candles, merged from the 1-minute partials of each commit; a year per partition. */
export const candles1d = coarserRollup(candles1m, {
  name: 'candles_1d',
  summary: 'daily (UTC) candles of the prices per symbol and source, fed by the 1-minute partials of each commit',
  period: '1 day',
  periodMs: 86_400_000,
  periodColumn: 'day',
  partitionBy: 'year',
});

/** The price candle rollups, finest first: the grains the candle queries choose from. */
export const CANDLE_GRAINS: readonly Rollup[] = [candles1m, candles1h, candles1d];

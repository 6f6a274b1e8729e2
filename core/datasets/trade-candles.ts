import { HOT_INLINE_ROW_LIMIT, coarserRollup, type PartitionGrain, type Rollup } from './dataset.ts';

/**
 * Candles of the exchange trades, per market and period: open and close by the venue's trade ids
 * (trades of one market often share a millisecond; the ids are the venue's order of execution),
 * high, low, base, quote and taker-buy volume, and the trade count.
 */
function tradeCandleRollup(name: string, period: string, periodMs: number, periodColumn: string, partitionBy: PartitionGrain): Rollup {
  return {
    kind: 'rollup',
    name,
    summary: `${period} candles of the exchange trades per venue and market, with real volume`,
    from: 'trades',
    period,
    periodMs,
    periodColumn,
    partitionBy,
    groupBy: ['venue', 'market', 'symbol'],
    columns: [
      [periodColumn, 'TIMESTAMP'],
      ['venue', 'VARCHAR'],
      ['market', 'VARCHAR'],
      ['symbol', 'VARCHAR'],
      ['open', 'DOUBLE'],
      ['open_trade_id', 'BIGINT'],
      ['high', 'DOUBLE'],
      ['low', 'DOUBLE'],
      ['close', 'DOUBLE'],
      ['close_trade_id', 'BIGINT'],
      ['volume', 'DOUBLE'],
      ['quote_volume', 'DOUBLE'],
      ['buy_volume', 'DOUBLE'],
      ['trades', 'BIGINT'],
      ['last_ts', 'TIMESTAMP'],
    ],
    derive: [
      `$period AS ${periodColumn}`,
      'venue',
      'market',
      'symbol',
      'arg_min(price, trade_id) AS open',
      'min(trade_id) AS open_trade_id',
      'max(price) AS high',
      'min(price) AS low',
      'arg_max(price, trade_id) AS close',
      'max(trade_id) AS close_trade_id',
      'sum(qty) AS volume',
      'sum(price * qty) AS quote_volume',
      "coalesce(sum(qty) FILTER (WHERE side = 'buy'), 0) AS buy_volume",
      'count(*) AS trades',
      'max(ts) AS last_ts',
    ],
    merge: [
      periodColumn,
      'venue',
      'market',
      'symbol',
      'arg_min(open, open_trade_id) AS open',
      'min(open_trade_id) AS open_trade_id',
      'max(high) AS high',
      'min(low) AS low',
      'arg_max(close, close_trade_id) AS close',
      'max(close_trade_id) AS close_trade_id',
      'sum(volume) AS volume',
      'sum(quote_volume) AS quote_volume',
      'sum(buy_volume) AS buy_volume',
      'sum(trades)::BIGINT AS trades',
      'max(last_ts) AS last_ts',
    ],
    sortBy: ['venue', 'market', periodColumn],
    inlineRowLimit: HOT_INLINE_ROW_LIMIT,
  };
}

/** 1-minute candles of the exchange trades. */
export const tradeCandles1m = tradeCandleRollup('trade_candles_1m', '1 minute', 60_000, 'minute', 'day');

/** Hourly trade candles, merged from the 1-minute partials of each commit; a month per partition. */
export const tradeCandles1h = coarserRollup(tradeCandles1m, {
  name: 'trade_candles_1h',
  summary: 'hourly candles of the exchange trades per venue and market, fed by the 1-minute partials of each commit',
  period: '1 hour',
  periodMs: 3_600_000,
  periodColumn: 'hour',
  partitionBy: 'month',
});

/** Daily (UTC) trade candles, merged from the 1-minute partials of each commit; a year per partition. */
export const tradeCandles1d = coarserRollup(tradeCandles1m, {
  name: 'trade_candles_1d',
  summary: 'daily (UTC) candles of the exchange trades per venue and market, fed by the 1-minute partials of each commit',
  period: '1 day',
  periodMs: 86_400_000,
  periodColumn: 'day',
  partitionBy: 'year',
});

/** The trade candle rollups, finest first: the grains the trade candle queries choose from. */
export const TRADE_CANDLE_GRAINS: readonly Rollup[] = [tradeCandles1m, tradeCandles1h, tradeCandles1d];

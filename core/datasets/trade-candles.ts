import type { Rollup } from './dataset.ts';

/**
 * Candles of the exchange trades, per market and period: open and close by the venue's trade ids
 * (trades of one market often share a millisecond; the ids are the venue's order of execution),
 * high, low, base, quote and taker-buy volume, and the trade count.
 */
function tradeCandleRollup(name: string, period: string, periodColumn: string): Rollup {
  return {
    kind: 'rollup',
    name,
    summary: `${period} candles of the exchange trades per venue and market, with real volume`,
    from: 'trades',
    period,
    periodColumn,
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
    inlineRowLimit: 10_000,
  };
}

/** 1-minute candles of the exchange trades. */
export const tradeCandles1m = tradeCandleRollup('trade_candles_1m', '1 minute', 'minute');

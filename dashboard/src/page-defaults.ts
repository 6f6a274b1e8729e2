/**
 * What the page asks when it opens without URL parameters, and the sizes of its lists. lake-query's
 * warm-up asks the same at its start (`lake-query/warm-up.ts`; `lake-query/warm-up.test.ts` holds
 * the two together).
 */
export const PAGE_DEFAULTS = {
  /** The symbol on the chart. */
  symbol: 'BTC',
  /** The chart's candle width, and the indicators'. */
  interval: '1m',
  /** The chart's range (a key of `RANGES`). */
  range: '6H',
  /** The candles the indicators look back over. */
  indicatorWindow: 20,
  /** The alerts in the alerts panel. */
  alerts: 50,
  /** The trades on the tape and the gaps in the list. */
  tape: 50,
  gaps: 50,
  /** The candles the trades chart asks for. */
  tradeCandles: 300,
} as const;

import type { FakeVenueName } from '../venues/fake-venue.ts';

/** The markets the stream tests trade: BTC and ETH against the dollar, in each venue's own names. */
export const TEST_MARKETS: Record<FakeVenueName, string[]> = {
  binance: ['BTCUSDT', 'ETHUSDT'],
  coinbase: ['BTC-USD', 'ETH-USD'],
  kraken: ['BTC/USD', 'ETH/USD'],
};

/**
 * Stream settings for tests, over BTC and ETH: reconnects within 50-400 ms, a 300 ms reorder window,
 * pings every 200 ms and a silent connection declared dead after 1.5 s.
 */
export const QUICK_STREAM_ENV: Readonly<Record<string, string>> = {
  STREAM_SYMBOLS: 'BTC,ETH',
  STREAM_RECONNECT_MIN_MS: '50',
  STREAM_RECONNECT_MAX_MS: '400',
  STREAM_REORDER_WINDOW_MS: '300',
  STREAM_PING_INTERVAL_MS: '200',
  STREAM_IDLE_TIMEOUT_MS: '1500',
};

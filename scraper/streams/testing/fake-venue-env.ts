import type { FakeVenue, FakeVenueName } from './fake-venue.ts';

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

/**
 * The variables that point the trade streams at running fake venues: `STREAM_VENUES` (in the order
 * given) and each venue's `*_WS_URL` and `*_BASE_URL`, to lay over the environment.
 */
export function fakeVenueEnv(fakes: Iterable<FakeVenue>): Record<string, string> {
  const list = [...fakes];
  const env: Record<string, string> = { STREAM_VENUES: list.map((fake) => fake.venue).join(',') };
  for (const fake of list) {
    env[`${fake.venue.toUpperCase()}_WS_URL`] = fake.wsUrl;
    env[`${fake.venue.toUpperCase()}_BASE_URL`] = fake.restUrl;
  }
  return env;
}

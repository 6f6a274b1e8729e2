import type { Logger } from '../../core/log.ts';
import { VENUES, type Venue } from '../../core/records/trade.ts';
import { binanceProtocol } from './venues/binance.ts';
import { coinbaseProtocol } from './venues/coinbase.ts';
import { krakenProtocol } from './venues/kraken.ts';
import { startFakeVenue, type FakeVenue } from './testing/fake-venue.ts';
import { fakeVenueEnv } from './testing/fake-venue-env.ts';

const PROTOCOLS = { binance: binanceProtocol, coinbase: coinbaseProtocol, kraken: krakenProtocol } as const;

/** Local made-up venues and the settings that point the trade streams at them. */
export interface DemoVenues {
  /** `STREAM_VENUES` and each venue's `*_WS_URL` and `*_BASE_URL`, to lay over the environment. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * Starts the three fake venues the tests use (`testing/fake-venue.ts`: each speaks its venue's
 * WebSocket and REST protocol) on loopback, trading `symbols` at `tradesPerSecond` per market, so
 * `npm run demo` shows trade streams, candles with volume and refills without the internet. Their
 * trades are made up: the demo writes them to the synthetic lake only.
 */
export async function startDemoVenues(symbols: readonly string[], tradesPerSecond: number, log: Logger): Promise<DemoVenues> {
  const venues: FakeVenue[] = [];
  try {
    for (const [index, venue] of VENUES.entries()) {
      const fake = await startFakeVenue({
        venue,
        markets: symbols.map((symbol) => PROTOCOLS[venue as Venue].market(symbol)),
        tradesPerSecond,
        seed: Date.now() + index,
      });
      venues.push(fake);
    }
  } catch (error) {
    await Promise.all(venues.map((venue) => venue.close()));
    throw error;
  }
  log.info({ venues: VENUES, symbols, tradesPerSecond }, 'Demo venues trading made-up trades on loopback');
  return { env: fakeVenueEnv(venues), close: async () => void (await Promise.all(venues.map((venue) => venue.close()))) };
}

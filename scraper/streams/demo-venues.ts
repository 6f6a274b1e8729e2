import type { Logger } from '../../core/log.ts';
import { VENUES, type Venue } from '../../core/records/trade.ts';
import { binanceProtocol } from './venues/binance/client.ts';
import { coinbaseProtocol } from './venues/coinbase/client.ts';
import { krakenProtocol } from './venues/kraken/client.ts';
import { startFakeVenue, type FakeVenue } from './venues/fake-venue.ts';
import { fakeVenueEnv } from './venues/fake-venue-env.ts';

const PROTOCOLS = { binance: binanceProtocol, coinbase: coinbaseProtocol, kraken: krakenProtocol } as const;

/** Local made-up venues and the settings that point the trade streams at them. */
export interface DemoVenues {
  /** `STREAM_VENUES` and each venue's `*_WS_URL` and `*_BASE_URL`, to lay over the environment. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * Starts the three fake venues (`venues/fake-venue.ts` with `venues/<venue>/fake.ts`: each speaks its venue's
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

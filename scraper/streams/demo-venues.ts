import type { Logger } from '../../core/log.ts';
import { VENUES, type Venue } from '../../core/records/trade.ts';
import { SyntheticWorld } from '../synthetic-world.ts';
import { binanceProtocol } from './venues/binance/client.ts';
import { coinbaseProtocol } from './venues/coinbase/client.ts';
import { krakenProtocol } from './venues/kraken/client.ts';
import { startFakeVenue, type FakeVenue } from './venues/fake-venue.ts';
import { fakeVenueEnv } from './venues/fake-venue-env.ts';

const PROTOCOLS = { binance: binanceProtocol, coinbase: coinbaseProtocol, kraken: krakenProtocol } as const;

/** What the demo venues trade: which coins, how fast, and the seed of the one made-up market. */
export interface DemoVenueOptions {
  symbols: readonly string[];
  /** Trades per second per market. */
  tradesPerSecond: number;
  /** Seed of the synthetic world (`SYNTHETIC_SEED`). Default: drawn now, and logged. */
  seed?: number | undefined;
}

/** Local made-up venues, the world they trade and the settings that point the trade streams at them. */
export interface DemoVenues {
  /** `STREAM_VENUES` and each venue's `*_WS_URL` and `*_BASE_URL`, to lay over the environment. */
  env: Record<string, string>;
  /** The made-up market the venues trade: hand it to the synthetic provider so that its prices follow the same walk. */
  world: SyntheticWorld;
  close(): Promise<void>;
}

/**
 * Starts the three fake venues (`venues/fake-venue.ts` with `venues/<venue>/fake.ts`: each speaks its venue's
 * WebSocket and REST protocol) on loopback, trading `symbols` at `tradesPerSecond` per market, so
 * `npm run demo` shows trade streams, candles with volume and refills without the internet. All of
 * them trade one `SyntheticWorld`, each with its own few basis points of difference; the returned
 * world is the one the synthetic provider must quote, so the demo's prices and trades agree. Their
 * trades are made up: the demo writes them to the synthetic lake only.
 */
export async function startDemoVenues(options: DemoVenueOptions, log: Logger): Promise<DemoVenues> {
  const world = new SyntheticWorld(options.seed ?? Math.floor(Math.random() * 2 ** 31));
  const { symbols, tradesPerSecond } = options;
  // Numbered by the clock, as a real venue's ids keep growing: a demo started again goes on from
  // past the ids its last run wrote to the lake (what it "traded" while down is a restart gap).
  const firstTradeId = Math.ceil((Date.now() * tradesPerSecond) / 1_000);
  const venues: FakeVenue[] = [];
  try {
    for (const [index, venue] of VENUES.entries()) {
      const fake = await startFakeVenue({
        venue,
        markets: symbols.map((symbol) => PROTOCOLS[venue as Venue].market(symbol)),
        tradesPerSecond,
        firstTradeId,
        seed: world.seed + index,
        world,
      });
      venues.push(fake);
    }
  } catch (error) {
    await Promise.all(venues.map((venue) => venue.close()));
    throw error;
  }
  log.info({ venues: VENUES, symbols, tradesPerSecond, seed: world.seed }, 'Demo venues trading made-up trades on loopback');
  return {
    env: fakeVenueEnv(venues),
    world,
    close: async () => void (await Promise.all(venues.map((venue) => venue.close()))),
  };
}

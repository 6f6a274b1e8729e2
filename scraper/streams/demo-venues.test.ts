import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MemoryBus } from '../../core/adapters/memory/bus.ts';
import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { PriceRecord } from '../../core/records/price.ts';
import { Trade } from '../../core/records/trade.ts';
import { waitFor } from '../../core/testing/wait.ts';
import { startScraper } from '../start.ts';
import { startDemoVenues } from './demo-venues.ts';
import { follow } from './testing/follow.ts';
import { QUICK_STREAM_ENV } from './testing/quick-streams.ts';

const SYMBOLS = ['BTC', 'ETH'];
const VENUES = ['binance', 'coinbase', 'kraken'];

describe('npm run demo', () => {
  it("shows one market: the synthetic provider's prices and every demo venue's trades of a symbol stay within 1 % of each other", async () => {
    const bus = new MemoryBus({ partitions: 3 });
    const prices = await follow(bus, 'prices', (value) => PriceRecord.parse(value));
    const trades = await follow(bus, 'trades', (value) => Trade.parse(value));
    const demo = await startDemoVenues({ symbols: SYMBOLS, tradesPerSecond: 50 }, silentLogger);
    after(() => demo.close());
    const env = { ...QUICK_STREAM_ENV, ...demo.env, PROVIDERS: 'synthetic', SYMBOLS: SYMBOLS.join(','), POLL_INTERVAL_MS: '200' };
    const scraper = await startScraper({ bus, cache: new MemoryCache() }, env, silentLogger, new Metrics(), { world: demo.world });
    after(() => scraper.stop());

    // A run of a few seconds: several polls of the provider and a hundred trades of every market.
    const enough = () =>
      SYMBOLS.every(
        (symbol) =>
          prices.filter((price) => price.symbol === symbol && price.source === 'synthetic').length >= 10 &&
          VENUES.every((venue) => trades.filter((trade) => trade.symbol === symbol && trade.venue === venue).length >= 100),
      );
    await waitFor(enough, 30_000, 'ten synthetic prices and a hundred trades of every venue, per symbol');

    for (const symbol of SYMBOLS) {
      const seen = [
        ...prices.filter((price) => price.symbol === symbol).map((price) => ({ from: price.source, price: price.price_usd })),
        ...trades.filter((trade) => trade.symbol === symbol).map((trade) => ({ from: trade.venue, price: trade.price })),
      ];
      const low = seen.reduce((a, b) => (b.price < a.price ? b : a));
      const high = seen.reduce((a, b) => (b.price > a.price ? b : a));
      assert.ok(
        high.price / low.price - 1 < 0.01,
        `${symbol}: ${low.from} at ${low.price} and ${high.from} at ${high.price} are more than 1 % apart`,
      );
      const sources = new Set(seen.map((item) => item.from));
      for (const source of ['synthetic', ...VENUES]) assert.ok(sources.has(source), `${symbol}: nothing from ${source}`);
    }
  });
});

import { before, after } from 'node:test';
import { providerContract } from '../../core/ports/provider.contract.ts';
import { loadScraperConfig } from '../config.ts';
import { startFakeProvider, type FakeProvider } from '../testing/fake-provider.ts';
import { fixture, realPricesPath } from '../testing/shared.ts';
import { createProviders } from './index.ts';

// Every provider the scraper knows runs the same contract: the live ones against a local server
// that answers with their documented responses, the offline ones as configured by a user.
let server: FakeProvider;
before(async () => {
  server = await startFakeProvider({
    '/api/v3/coins/markets': { body: fixture('coingecko_coins_markets.json') },
    // The documented single-asset answer, as the list endpoint wraps it.
    '/v3/assets': { body: listOf(fixture('coincap_v3_asset_bitcoin.recorded_2026-04-06.json')) },
    '/v2/cryptocurrency/quotes/latest': { body: fixture('coinmarketcap_quotes_latest_v2.json') },
    // The documented example is BNBBTC; the same answer for the USDT pair the scraper asks for.
    '/api/v3/ticker/24hr': { body: fixture('binance_ticker_24hr_full_array.json').replaceAll('BNBBTC', 'BTCUSDT') },
    '/0/public/Ticker': { body: fixture('kraken_ticker.json') },
    '/products/BTC-USD/ticker': { body: fixture('coinbase_exchange_product_ticker.json') },
  });
});
after(() => server.close());

function listOf(single: string): string {
  const { data, timestamp } = JSON.parse(single) as { data: unknown; timestamp: number };
  return JSON.stringify({ data: [data], timestamp });
}

function provider(name: string, env: Record<string, string> = {}) {
  return async () => {
    const config = loadScraperConfig({
      PROVIDERS: name,
      REQUEST_TIMEOUT_MS: '2000',
      COINGECKO_BASE_URL: server.baseUrl,
      COINCAP_BASE_URL: server.baseUrl,
      COINMARKETCAP_BASE_URL: server.baseUrl,
      BINANCE_BASE_URL: server.baseUrl,
      KRAKEN_BASE_URL: server.baseUrl,
      COINBASE_BASE_URL: server.baseUrl,
      COINCAP_API_KEY: 'test-key',
      COINMARKETCAP_API_KEY: 'test-key',
      ...env,
    });
    return createProviders(config)[0]!;
  };
}

providerContract('coingecko', { make: provider('coingecko'), serves: ['BTC'] });
providerContract('coincap', { make: provider('coincap'), serves: ['BTC'] });
providerContract('coinmarketcap', { make: provider('coinmarketcap'), serves: ['BTC'] });
providerContract('binance', { make: provider('binance'), serves: ['BTC'] });
providerContract('kraken', { make: provider('kraken'), serves: ['BTC'] });
providerContract('coinbase', { make: provider('coinbase'), serves: ['BTC'] });
providerContract('synthetic', { make: provider('synthetic', { SYNTHETIC_SEED: '7' }), serves: ['BTC', 'ETH'] });
providerContract('replay', {
  make: provider('replay', { REPLAY_FILE: realPricesPath('binanceus_BTCUSDT_1m_20230301_20230321.csv'), REPLAY_SPEED: '0' }),
  serves: ['BTC'],
});

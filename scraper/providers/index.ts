import { LakeError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { PriceProvider } from '../../core/ports/provider.ts';
import type { ScraperConfig } from '../config.ts';
import { BinanceProvider } from './binance.ts';
import { CoinbaseProvider } from './coinbase.ts';
import { CoinCapProvider } from './coincap.ts';
import { CoinGeckoProvider } from './coingecko.ts';
import { CoinMarketCapProvider } from './coinmarketcap.ts';
import { KrakenProvider } from './kraken.ts';
import { ReplayProvider } from './replay.ts';
import { SyntheticProvider } from './synthetic.ts';
import { SyntheticWorld } from '../synthetic-world.ts';

/**
 * What providers take from the process: the clock, a logger for the few start-up facts, and the
 * made-up market the synthetic provider quotes when the demo venues trade it too.
 */
export interface ProviderDeps {
  now?: () => number;
  log?: Logger;
  world?: SyntheticWorld | undefined;
}

/**
 * Builds the provider chain named by `config.providers`, in fallback order. The config schema
 * has already refused unknown names and unsafe mixes; an unknown name here is a programming error.
 */
export function createProviders(config: ScraperConfig, deps: ProviderDeps = {}): PriceProvider[] {
  const now = deps.now ?? Date.now;
  const timeoutMs = config.requestTimeoutMs;
  return config.providers.map((name): PriceProvider => {
    switch (name) {
      case 'coingecko':
        return new CoinGeckoProvider({ baseUrl: config.coingeckoBaseUrl, apiKey: config.coingeckoApiKey, timeoutMs });
      case 'coincap':
        return new CoinCapProvider({ baseUrl: config.coincapBaseUrl, apiKey: config.coincapApiKey, timeoutMs });
      case 'coinmarketcap':
        return new CoinMarketCapProvider({ baseUrl: config.coinmarketcapBaseUrl, apiKey: config.coinmarketcapApiKey, timeoutMs });
      case 'binance':
        return new BinanceProvider({ baseUrl: config.binanceBaseUrl, timeoutMs });
      case 'kraken':
        return new KrakenProvider({ baseUrl: config.krakenBaseUrl, timeoutMs, now });
      case 'coinbase':
        return new CoinbaseProvider({ baseUrl: config.coinbaseBaseUrl, timeoutMs });
      case 'replay':
        return new ReplayProvider({
          file: config.replayFile ?? '',
          speed: config.replaySpeed,
          chunkRows: config.replayChunkRows,
          source: config.replaySource,
          symbol: config.replaySymbol,
          now,
        });
      case 'synthetic': {
        const world = deps.world ?? new SyntheticWorld(config.syntheticSeed ?? Math.floor(Math.random() * 2 ** 31));
        deps.log?.info({ seed: world.seed }, 'Synthetic prices: set SYNTHETIC_SEED to this seed to get the same walk again');
        return new SyntheticProvider({ seed: world.seed, world, now });
      }
      default:
        throw new LakeError('CONFIG_INVALID', `unknown provider ${name}`);
    }
  });
}

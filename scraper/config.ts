import { z } from 'zod';
import { csvList, loadConfig, positiveInt } from '../core/config.ts';
import { lakeLocationSchema } from '../core/lake-location.ts';
import { topicsConfigSchema } from '../core/records/topics.ts';
import type { GuardSettings } from './guarded-call.ts';

/** Providers that answer with real prices now, over HTTP. */
export const LIVE_PROVIDERS = ['coingecko', 'coincap', 'coinmarketcap', 'binance', 'kraken', 'coinbase'] as const;
/** Every provider name PROVIDERS may list. */
export const KNOWN_PROVIDERS: readonly string[] = [...LIVE_PROVIDERS, 'replay', 'synthetic'];
/** Live providers that refuse requests without a key. */
const NEEDS_KEY = { coincap: 'coincapApiKey', coinmarketcap: 'coinmarketcapApiKey' } as const;

const ticker = z
  .string()
  .regex(/^[A-Za-z0-9]{1,20}$/, 'expected tickers such as BTC,ETH')
  .transform((value) => value.toUpperCase());

const baseUrl = (name: string, url: string) =>
  z.url({ error: 'expected an http(s) URL' }).default(url).describe(`${name} API root, without a trailing slash. Default \`${url}\`.`);
const apiKey = (name: string, detail: string) => z.string().optional().describe(`${name} API key (${detail}). Default: none.`);
const rateLimit = (name: string, perMin: number, detail: string) =>
  positiveInt()
    .default(perMin)
    .describe(`Most ${name} calls per minute, shared by all replicas through the cache (${detail}). Default ${perMin}.`);
const wholeMs = () => z.coerce.number({ error: 'expected a number' }).int('expected a whole number').min(0, 'expected 0 or more');

/**
 * Scraper settings: what to poll, how often, and where each provider lives. Merged with the
 * shared lake location (`PROVIDERS`, `LAKE_DIR`). Rejects a chain that mixes made-up or replayed
 * prices with live ones, unknown provider names, and providers missing what they need.
 */
export const scraperConfigSchema = lakeLocationSchema
  .extend(topicsConfigSchema.shape)
  .extend({
    symbols: csvList(ticker)
      .default(['BTC', 'ETH', 'SOL', 'XRP', 'ADA', 'DOGE'])
      .describe('Tickers to poll (comma list, upper-case). Default `BTC,ETH,SOL,XRP,ADA,DOGE`. A replay emits every symbol in its file.'),
    pollIntervalMs: positiveInt().default(10_000).describe('Time between the starts of two polls, ms. Default 10000.'),
    requestTimeoutMs: positiveInt().default(5_000).describe('Longest wait for one provider request, headers and body, ms. Default 5000.'),
    replayFile: z
      .string()
      .optional()
      .describe('File that PROVIDERS=replay reads: NDJSON, CSV with named columns, or one of the known candle layouts. Default: none.'),
    replaySpeed: z.coerce
      .number({ error: 'expected a number' })
      .min(0, 'expected 0 or more')
      .default(1)
      .describe('Replay pace: 1 = real time from the first record, N = N times faster, 0 = as fast as possible. Default 1.'),
    replayChunkRows: positiveInt().default(5_000).describe('Most replayed rows handed over in one poll, rows. Default 5000.'),
    replaySource: z
      .string()
      .regex(/^[a-z0-9-]{1,40}$/, 'expected a lower-case name')
      .default('replay')
      .describe('The `source` written on replayed records. Default `replay`.'),
    replaySymbol: ticker
      .optional()
      .describe(
        "Symbol of replayed rows that name none in a column; overrides the one in the file name. Default: the file name's (`BTCUSDT_1m.csv` -> BTC).",
      ),
    syntheticSeed: z.coerce
      .number({ error: 'expected a number' })
      .int('expected a whole number')
      .optional()
      .describe(
        'Seed of the synthetic market: one random walk per coin, which the synthetic provider and the demo venues quote; the same seed and clock give the same prices. Default: random, logged at start.',
      ),
    coingeckoBaseUrl: baseUrl('CoinGecko', 'https://api.coingecko.com'),
    coingeckoApiKey: apiKey('CoinGecko', 'demo key on api.coingecko.com, pro key on pro-api.coingecko.com; optional'),
    coincapBaseUrl: baseUrl('CoinCap', 'https://rest.coincap.io'),
    coincapApiKey: apiKey('CoinCap v3', 'required when PROVIDERS lists coincap'),
    coinmarketcapBaseUrl: baseUrl('CoinMarketCap', 'https://pro-api.coinmarketcap.com'),
    coinmarketcapApiKey: apiKey('CoinMarketCap', 'required when PROVIDERS lists coinmarketcap'),
    binanceBaseUrl: baseUrl('Binance market data', 'https://data-api.binance.vision'),
    krakenBaseUrl: baseUrl('Kraken', 'https://api.kraken.com'),
    coinbaseBaseUrl: baseUrl('Coinbase Exchange', 'https://api.exchange.coinbase.com'),
    coingeckoRateLimitPerMin: rateLimit('CoinGecko', 30, 'keyless/demo docs say 30 or 100 per minute; the lower is taken'),
    coincapRateLimitPerMin: rateLimit('CoinCap', 10, 'v3 limits depend on the plan and are not documented; set yours'),
    coinmarketcapRateLimitPerMin: rateLimit('CoinMarketCap', 10, 'per plan; mind the monthly credits too'),
    binanceRateLimitPerMin: rateLimit(
      'Binance request-weight units',
      3000,
      'Binance allows 6000 weight per minute per IP; a ticker/24hr call weighs 2 for up to 20 symbols, 40 up to 100, 80 above',
    ),
    krakenRateLimitPerMin: rateLimit('Kraken', 60, 'public endpoints allow about 1 call per second'),
    coinbaseRateLimitPerMin: rateLimit('Coinbase', 300, 'public REST allows 10 per second; each symbol costs 2 calls, ticker and stats'),
    circuitFailureThreshold: positiveInt()
      .default(5)
      .describe('Consecutive failed calls after which a provider is skipped (its circuit opens), calls. Default 5.'),
    circuitCooldownMs: positiveInt()
      .default(60_000)
      .describe('How long an open circuit skips its provider before one probe call decides, ms. Default 60000.'),
    providerRetries: z.coerce
      .number({ error: 'expected a number' })
      .int('expected a whole number')
      .min(0, 'expected 0 or more')
      .default(2)
      .describe('Retries of a provider call after a network error, timeout or 5xx, within the poll, tries. Default 2.'),
    retryMinDelayMs: positiveInt().default(200).describe('First retry delay, doubled each retry and jittered (x1..2), ms. Default 200.'),
    retryMaxDelayMs: positiveInt().default(2_000).describe('Longest delay between two retries, ms. Default 2000.'),
    providerCacheTtlMs: wholeMs()
      .optional()
      .describe(
        'Provider answers are shared with other replicas through the cache within fixed windows of this length, ms; at most POLL_INTERVAL_MS, 0 turns sharing off. Default: POLL_INTERVAL_MS (one upstream call per provider and interval).',
      ),
    cacheLockWaitMs: wholeMs()
      .default(2_000)
      .describe("How long a replica waits for another replica's answer to the same request before asking itself, ms. Default 2000."),
    rateLimitedPauseMs: positiveInt()
      .default(60_000)
      .describe('How long a provider is left alone after a 429 (or rate-limit error body) without Retry-After, ms. Default 60000.'),
    bannedPauseMs: positiveInt()
      .default(120_000)
      .describe('How long a provider is left alone after a 418 ban without Retry-After, ms. Default 120000.'),
    unlistedSymbolTtlMs: positiveInt()
      .default(3_600_000)
      .describe(
        'How long a symbol a provider refused as not listed (Binance -1121 Invalid symbol, Kraken EQuery:Unknown asset pair, a CoinMarketCap invalid symbol) is asked of the next provider without asking that one, while its other symbols are still asked of it, ms. Default 3600000 (1 h).',
      ),
    sharedCacheRetryMs: positiveInt()
      .default(5_000)
      .describe(
        'After the shared cache (Redis) fails, how long the scraper uses an in-process cache before trying it again, ms. Default 5000.',
      ),
  })
  .superRefine((config, ctx) => {
    const providers = config.providers;
    const unknown = providers.filter((name) => !KNOWN_PROVIDERS.includes(name));
    if (unknown.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['providers'],
        message: `unknown provider ${unknown.join(', ')}; known providers: ${KNOWN_PROVIDERS.join(', ')}`,
      });
      return;
    }
    for (const offline of ['synthetic', 'replay']) {
      const others = providers.filter((name) => name !== offline);
      if (providers.includes(offline) && others.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['providers'],
          message: `${offline} cannot be mixed with other providers (${others.join(', ')}): its prices would mix with live ones in one lake; use PROVIDERS=${offline} alone`,
        });
        return;
      }
    }
    if (providers.includes('replay') && !config.replayFile) {
      ctx.addIssue({ code: 'custom', path: ['replayFile'], message: 'PROVIDERS=replay needs REPLAY_FILE, the file to replay' });
    }
    if (config.providerCacheTtlMs !== undefined && config.providerCacheTtlMs > config.pollIntervalMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['providerCacheTtlMs'],
        message: `expected at most POLL_INTERVAL_MS (${config.pollIntervalMs}): an answer must not outlive the poll`,
      });
    }
    for (const [name, key] of Object.entries(NEEDS_KEY)) {
      if (providers.includes(name) && !config[key]) {
        ctx.addIssue({ code: 'custom', path: [key], message: `${name} is in PROVIDERS but needs an API key` });
      }
    }
  });

/** The validated scraper settings. */
export type ScraperConfig = z.infer<typeof scraperConfigSchema>;

/** The provider guard's settings (rate limits, circuit, retries, sharing) from the scraper settings. */
export function guardSettings(config: ScraperConfig): GuardSettings {
  const perMinute = (limit: number) => ({ limit, windowMs: 60_000 });
  return {
    rateLimits: {
      coingecko: perMinute(config.coingeckoRateLimitPerMin),
      coincap: perMinute(config.coincapRateLimitPerMin),
      coinmarketcap: perMinute(config.coinmarketcapRateLimitPerMin),
      binance: perMinute(config.binanceRateLimitPerMin),
      kraken: perMinute(config.krakenRateLimitPerMin),
      coinbase: perMinute(config.coinbaseRateLimitPerMin),
    },
    circuit: { failureThreshold: config.circuitFailureThreshold, cooldownMs: config.circuitCooldownMs },
    retry: { retries: config.providerRetries, minDelayMs: config.retryMinDelayMs, maxDelayMs: config.retryMaxDelayMs },
    cacheTtlMs: config.providerCacheTtlMs ?? config.pollIntervalMs,
    cacheLockWaitMs: config.cacheLockWaitMs,
    rateLimitedPauseMs: config.rateLimitedPauseMs,
    bannedPauseMs: config.bannedPauseMs,
    unlistedTtlMs: config.unlistedSymbolTtlMs,
  };
}

/** Reads the scraper settings from `env`; throws a one-line `CONFIG_INVALID` error naming the variable. */
export function loadScraperConfig(env: Record<string, string | undefined> = process.env): ScraperConfig {
  return loadConfig(scraperConfigSchema, env);
}

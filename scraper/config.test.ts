import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { guardSettings, loadScraperConfig } from './config.ts';

describe('scraper config', () => {
  it('has working defaults', () => {
    const config = loadScraperConfig({});
    assert.deepEqual(config.symbols, ['BTC', 'ETH', 'SOL', 'XRP', 'ADA', 'DOGE']);
    assert.equal(config.pollIntervalMs, 10_000);
    assert.equal(config.requestTimeoutMs, 5_000);
    assert.equal(config.replaySpeed, 1);
    assert.equal(config.kafkaTopic, 'prices');
    assert.equal(config.deadLetterTopic, 'prices.dead-letter');
    assert.deepEqual(config.providers, ['coingecko', 'binance', 'kraken', 'coinbase']);
  });

  it('reads variables by their SCREAMING_SNAKE names', () => {
    const config = loadScraperConfig({
      SYMBOLS: 'btc, eth',
      POLL_INTERVAL_MS: '2500',
      COINGECKO_BASE_URL: 'http://127.0.0.1:9',
      REPLAY_SPEED: '0',
    });
    assert.deepEqual(config.symbols, ['BTC', 'ETH']);
    assert.equal(config.pollIntervalMs, 2500);
    assert.equal(config.coingeckoBaseUrl, 'http://127.0.0.1:9');
    assert.equal(config.replaySpeed, 0);
  });

  it('names POLL_INTERVAL_MS when it is not a number', () => {
    assert.throws(() => loadScraperConfig({ POLL_INTERVAL_MS: 'abc' }), { code: 'CONFIG_INVALID', message: /POLL_INTERVAL_MS="abc"/ });
  });

  it('refuses an unknown provider and lists the known ones', () => {
    assert.throws(() => loadScraperConfig({ PROVIDERS: 'coingecko,bitstamp' }), {
      code: 'CONFIG_INVALID',
      message:
        /PROVIDERS="coingecko,bitstamp": unknown provider bitstamp; known providers: coingecko, coincap, coinmarketcap, binance, kraken, coinbase, replay, synthetic/,
    });
  });

  it('refuses synthetic mixed with live providers', () => {
    assert.throws(() => loadScraperConfig({ PROVIDERS: 'synthetic,coingecko' }), {
      message: /synthetic cannot be mixed with other providers \(coingecko\)/,
    });
  });

  it('refuses replay without REPLAY_FILE, and a keyed provider without its key', () => {
    assert.throws(() => loadScraperConfig({ PROVIDERS: 'replay' }), {
      message: /REPLAY_FILE \(unset\): PROVIDERS=replay needs REPLAY_FILE/,
    });
    assert.throws(() => loadScraperConfig({ PROVIDERS: 'coincap' }), { message: /COINCAP_API_KEY \(unset\)/ });
    assert.throws(() => loadScraperConfig({ REPLAY_SPEED: '-1' }), { message: /REPLAY_SPEED="-1"/ });
  });

  it('gives each provider a conservative rate limit, configurable by <NAME>_RATE_LIMIT_PER_MIN', () => {
    const settings = guardSettings(loadScraperConfig({ BINANCE_RATE_LIMIT_PER_MIN: '1200' }));
    assert.deepEqual(Object.fromEntries(Object.entries(settings.rateLimits).map(([name, budget]) => [name, budget.limit])), {
      coingecko: 30,
      coincap: 10,
      coinmarketcap: 10,
      binance: 1200,
      kraken: 60,
      coinbase: 300,
    });
    assert.equal(settings.cacheTtlMs, 10_000, 'answers are shared per poll interval by default');
    assert.deepEqual(settings.circuit, { failureThreshold: 5, cooldownMs: 60_000 });
  });

  it('refuses a provider cache TTL longer than the poll interval', () => {
    assert.throws(() => loadScraperConfig({ POLL_INTERVAL_MS: '5000', PROVIDER_CACHE_TTL_MS: '6000' }), {
      message: /PROVIDER_CACHE_TTL_MS="6000": expected at most POLL_INTERVAL_MS \(5000\)/,
    });
  });
});

import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeProvider, type FakeProvider } from '../testing/fake-provider.ts';
import { fixture } from '../testing/shared.ts';
import { CoinGeckoProvider } from './coingecko.ts';
import { CoinCapProvider } from './coincap.ts';
import { CoinMarketCapProvider } from './coinmarketcap.ts';
import { BinanceProvider } from './binance.ts';
import { KrakenProvider } from './kraken.ts';
import { CoinbaseProvider } from './coinbase.ts';
import { isUnlistedRefusal } from './http.ts';

const signal = new AbortController().signal;
let server: FakeProvider;
before(async () => {
  server = await startFakeProvider();
});
after(() => server.close());

describe('coingecko', () => {
  it('maps /coins/markets to records stamped with last_updated and sends the demo key', async () => {
    server.route('/api/v3/coins/markets', { body: fixture('coingecko_coins_markets.json') });
    const provider = new CoinGeckoProvider({ baseUrl: server.baseUrl, apiKey: 'demo-key', timeoutMs: 1000 });
    const result = await provider.fetch(['BTC', 'ETH'], signal);
    assert.deepEqual(result.observations, [
      {
        source: 'coingecko',
        symbol: 'BTC',
        ts: Date.parse('2024-04-07T16:49:31.736Z'),
        price_usd: 70187,
        volume_24h_usd: 20154184933,
        market_cap_usd: 1381651251183,
        change_24h_pct: 3.12502,
      },
    ]);
    const request = server.requests.at(-1)!;
    assert.equal(request.query.get('ids'), 'bitcoin,ethereum');
    assert.equal(request.headers['x-cg-demo-api-key'], 'demo-key');
  });

  it('turns an item without a price or time into a reject, keeping the others', async () => {
    const [coin] = JSON.parse(fixture('coingecko_coins_markets.json')) as Record<string, unknown>[];
    server.route('/api/v3/coins/markets', {
      body: [coin, { ...coin, id: 'ethereum', last_updated: undefined }, { ...coin, id: 'solana', current_price: null }],
    });
    const result = await new CoinGeckoProvider({ baseUrl: server.baseUrl, timeoutMs: 1000 }).fetch(['BTC', 'ETH', 'SOL'], signal);
    assert.deepEqual(
      result.observations.map((o) => o.symbol),
      ['BTC'],
    );
    assert.equal(result.rejects.length, 2);
    assert.match(result.rejects[0]!.reason, /last_updated/);
    assert.match(result.rejects[1]!.reason, /current_price: null/);
  });

  it('serves nothing from an empty array', async () => {
    server.route('/api/v3/coins/markets', { body: [] });
    const result = await new CoinGeckoProvider({ baseUrl: server.baseUrl, timeoutMs: 1000 }).fetch(['BTC'], signal);
    assert.deepEqual(result, { observations: [], rejects: [] });
  });
});

describe('coincap', () => {
  it('maps /v3/assets string numbers with the response timestamp and a Bearer key', async () => {
    server.route('/v3/assets', { body: fixture('coincap_v2_assets.recorded_2021-10-27.json') });
    const result = await new CoinCapProvider({ baseUrl: server.baseUrl, apiKey: 'k1', timeoutMs: 1000 }).fetch(['BTC', 'DOGE'], signal);
    assert.equal(server.requests.at(-1)!.headers.authorization, 'Bearer k1');
    assert.deepEqual(
      result.observations.map((o) => [o.symbol, o.price_usd, o.ts]),
      [
        ['BTC', Number('60310.6888208343493939'), 1635293152930],
        ['DOGE', Number('0.2553619284956446'), 1635293152930],
      ],
    );
    assert.equal(result.observations[0]!.volume_24h_usd, Number('18687028375.6651281279008956'));
  });

  it('refuses the v2 deprecation body as an invalid response', async () => {
    server.route('/v3/assets', { body: fixture('coincap_v2_deprecated_body.recorded_2025-04-16.json') });
    await assert.rejects(new CoinCapProvider({ baseUrl: server.baseUrl, apiKey: 'k', timeoutMs: 1000 }).fetch(['BTC'], signal), {
      code: 'PROVIDER_RESPONSE_INVALID',
    });
  });
});

describe('coinmarketcap', () => {
  it('maps v2 quotes with quote.USD.last_updated as event time and sends the key header', async () => {
    server.route('/v2/cryptocurrency/quotes/latest', { body: fixture('coinmarketcap_quotes_latest_v2.json') });
    const result = await new CoinMarketCapProvider({ baseUrl: server.baseUrl, apiKey: 'cmc', timeoutMs: 1000 }).fetch(['BTC'], signal);
    assert.equal(server.requests.at(-1)!.headers['x-cmc_pro_api_key'], 'cmc');
    assert.deepEqual(result.observations, [
      {
        source: 'coinmarketcap',
        symbol: 'BTC',
        ts: Date.parse('2018-08-09T21:56:28.000Z'),
        price_usd: 6602.60701122,
        volume_24h_usd: 4314444687.5194,
        market_cap_usd: 852164659250.2758,
        change_24h_pct: 4.37185,
      },
    ]);
  });

  it('maps the listings body too, and picks the best-ranked coin of a shared ticker', async () => {
    const listing = JSON.parse(fixture('coinmarketcap_listings_latest.json')) as { data: Record<string, unknown>[] };
    const impostor = { ...listing.data[0], cmc_rank: 900, quote: { USD: { price: 1, last_updated: '2018-08-09T22:53:32.000Z' } } };
    server.route('/v2/cryptocurrency/quotes/latest', {
      body: { status: { error_code: 0 }, data: { BTC: [impostor, listing.data[0]], ETH: [listing.data[1]] } },
    });
    const result = await new CoinMarketCapProvider({ baseUrl: server.baseUrl, apiKey: 'cmc', timeoutMs: 1000 }).fetch(
      ['BTC', 'ETH'],
      signal,
    );
    assert.deepEqual(
      result.observations.map((o) => [o.symbol, o.price_usd]),
      [
        ['BTC', 9283.92],
        ['ETH', 1283.92],
      ],
    );
  });

  it('fails on an error_code sent with HTTP 200', async () => {
    server.route('/v2/cryptocurrency/quotes/latest', { body: fixture('coinmarketcap_error_status_only.json') });
    await assert.rejects(
      new CoinMarketCapProvider({ baseUrl: server.baseUrl, apiKey: 'cmc', timeoutMs: 1000 }).fetch(['BTC'], signal),
      (error: Error & { code: string }) => {
        assert.equal(error.code, 'PROVIDER_HTTP');
        assert.match(error.message, /error_code 400: Invalid value for "id"/);
        return true;
      },
    );
  });
});

describe('binance', () => {
  it('maps ticker/24hr strings with closeTime as event time and asks for USDT pairs', async () => {
    // The documented example is BNBBTC; renamed to a USDT pair so it maps.
    const body = fixture('binance_ticker_24hr_full_array.json').replace('"BNBBTC"', '"BTCUSDT"');
    server.route('/api/v3/ticker/24hr', { body });
    const result = await new BinanceProvider({ baseUrl: server.baseUrl, timeoutMs: 1000 }).fetch(['BTC', 'ETH'], signal);
    assert.equal(server.requests.at(-1)!.query.get('symbols'), '["BTCUSDT","ETHUSDT"]');
    assert.deepEqual(result.observations, [
      {
        source: 'binance',
        symbol: 'BTC',
        ts: 1499869899040,
        price_usd: 4.000002,
        volume_24h_usd: 15.3,
        market_cap_usd: null,
        change_24h_pct: -95.96,
      },
    ]);
  });

  it('reads the documented HTTP 400 -1121 of a batch as a refusal for a pair it does not list, without saying which', async () => {
    server.route('/api/v3/ticker/24hr', { status: 400, body: fixture('binance_error_body.json') });
    await assert.rejects(new BinanceProvider({ baseUrl: server.baseUrl, timeoutMs: 1000 }).fetch(['BTC', 'ETH'], signal), (error) => {
      assert.ok(isUnlistedRefusal(error));
      assert.deepEqual([error.unlisted, error.status, error.retryable], [[], 400, false]);
      assert.match(error.message, /-1121 Invalid symbol\./);
      return true;
    });
  });

  it('keeps other HTTP 400s as plain failures', async () => {
    server.route('/api/v3/ticker/24hr', { status: 400, body: { code: -1100, msg: "Illegal characters found in parameter 'symbols'." } });
    await assert.rejects(new BinanceProvider({ baseUrl: server.baseUrl, timeoutMs: 1000 }).fetch(['BTC'], signal), (error) => {
      assert.ok(!isUnlistedRefusal(error));
      return true;
    });
  });

  it('ignores pairs it did not ask for, such as the documented BNBBTC', async () => {
    server.route('/api/v3/ticker/24hr', { body: fixture('binance_ticker_24hr_mini_array.json') });
    const result = await new BinanceProvider({ baseUrl: server.baseUrl, timeoutMs: 1000 }).fetch(['BTC'], signal);
    assert.deepEqual(result, { observations: [], rejects: [] });
  });
});

describe('kraken', () => {
  it('maps XXBTZUSD back to BTC, stamped with the local clock', async () => {
    server.route('/0/public/Ticker', { body: fixture('kraken_ticker.json') });
    const result = await new KrakenProvider({ baseUrl: server.baseUrl, timeoutMs: 1000, now: () => 1_700_000_000_000 }).fetch(
      ['BTC'],
      signal,
    );
    assert.equal(server.requests.at(-1)!.query.get('pair'), 'XBTUSD');
    assert.equal(result.observations.length, 1);
    const [btc] = result.observations;
    assert.deepEqual([btc!.symbol, btc!.price_usd, btc!.ts, btc!.change_24h_pct], ['BTC', 30303.2, 1_700_000_000_000, null]);
    assert.ok(Math.abs(btc!.volume_24h_usd! - 4412.73601799 * 30689.13205) < 1e-3);
  });

  it('fails on an error array sent with HTTP 200, an unknown pair as a refusal that does not say which', async () => {
    server.route('/0/public/Ticker', { body: fixture('kraken_error_unknown_pair.json') });
    await assert.rejects(new KrakenProvider({ baseUrl: server.baseUrl, timeoutMs: 1000 }).fetch(['BTC', 'ETH'], signal), (error) => {
      assert.ok(isUnlistedRefusal(error));
      assert.deepEqual([error.unlisted, error.retryable], [[], false]);
      assert.match(error.message, /EQuery:Unknown asset pair/);
      return true;
    });
  });

  it('reads a rate-limit error as PROVIDER_RATE_LIMITED', async () => {
    server.route('/0/public/Ticker', { body: { error: ['EAPI:Rate limit exceeded'] } });
    await assert.rejects(new KrakenProvider({ baseUrl: server.baseUrl, timeoutMs: 1000 }).fetch(['BTC'], signal), {
      code: 'PROVIDER_RATE_LIMITED',
    });
  });
});

describe('coinbase', () => {
  it('maps the product ticker with its time, USD volume and the change from /stats', async () => {
    server.route('/products/BTC-USD/ticker', { body: fixture('coinbase_exchange_product_ticker.json') });
    server.route('/products/BTC-USD/stats', {
      body: { open: '6000.00', high: '6300', low: '5900', last: '6268.48', volume: '53602.03940154' },
    });
    const result = await new CoinbaseProvider({ baseUrl: server.baseUrl, timeoutMs: 1000 }).fetch(['BTC'], signal);
    const [btc] = result.observations;
    assert.deepEqual([btc!.symbol, btc!.price_usd, btc!.ts], ['BTC', 6268.48, Date.parse('2020-03-20T00:22:57.833Z')]);
    assert.ok(Math.abs(btc!.volume_24h_usd! - 53602.03940154 * 6268.48) < 1e-3);
    assert.ok(Math.abs(btc!.change_24h_pct! - 4.474666) < 1e-5);
  });

  it('serves the symbols whose ticker answered when others fail, and fails when all do', async () => {
    server.route('/products/BTC-USD/ticker', { body: fixture('coinbase_exchange_product_ticker.json') });
    server.route('/products/BTC-USD/stats', { status: 500, body: 'down' });
    server.route('/products/ETH-USD/ticker', { status: 404, body: fixture('coinbase_exchange_error_body.json') });
    const provider = new CoinbaseProvider({ baseUrl: server.baseUrl, timeoutMs: 1000 });
    const result = await provider.fetch(['BTC', 'ETH'], signal);
    assert.deepEqual(
      result.observations.map((o) => [o.symbol, o.change_24h_pct]),
      [['BTC', null]],
    );
    await assert.rejects(provider.fetch(['ETH'], signal), { code: 'PROVIDER_HTTP', retryable: false });
  });
});

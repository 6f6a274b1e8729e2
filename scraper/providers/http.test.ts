import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeProvider, type FakeProvider } from '../testing/fake-provider.ts';
import { fixture } from '../testing/shared.ts';
import { CoinGeckoProvider } from './coingecko.ts';
import { BinanceProvider } from './binance.ts';
import type { ProviderHttpError } from './http.ts';

const signal = new AbortController().signal;
let server: FakeProvider;
before(async () => {
  server = await startFakeProvider();
});
after(() => server.close());

async function failure(route: Parameters<FakeProvider['route']>[1], timeoutMs = 1000): Promise<ProviderHttpError> {
  server.route('/api/v3/coins/markets', route);
  const provider = new CoinGeckoProvider({ baseUrl: server.baseUrl, timeoutMs });
  try {
    await provider.fetch(['BTC'], signal);
  } catch (error) {
    return error as ProviderHttpError;
  }
  assert.fail('expected the request to fail');
}

describe('provider HTTP errors', () => {
  it('reads 429 as PROVIDER_RATE_LIMITED and keeps Retry-After in ms', async () => {
    const error = await failure({ status: 429, headers: { 'retry-after': '119' }, body: fixture('coingecko_error_429.json') });
    assert.equal(error.code, 'PROVIDER_RATE_LIMITED');
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfterMs, 119_000);
    assert.match(error.message, /coingecko GET \/api\/v3\/coins\/markets answered HTTP 429: .*exceeded the Rate Limit/);
  });

  it('reads 418 as PROVIDER_BANNED, not retryable', async () => {
    server.route('/api/v3/ticker/24hr', { status: 418, headers: { 'retry-after': '120' }, body: fixture('binance_error_body.json') });
    const provider = new BinanceProvider({ baseUrl: server.baseUrl, timeoutMs: 1000 });
    await assert.rejects(provider.fetch(['BTC'], signal), { code: 'PROVIDER_BANNED', retryable: false, retryAfterMs: 120_000 });
  });

  it('reads 500 as a retryable PROVIDER_HTTP and 400 as a final one', async () => {
    assert.deepEqual(await failure({ status: 500, body: 'oops' }).then((e) => [e.code, e.retryable, e.status]), [
      'PROVIDER_HTTP',
      true,
      500,
    ]);
    assert.deepEqual(await failure({ status: 400, body: fixture('binance_error_body.json') }).then((e) => [e.code, e.retryable]), [
      'PROVIDER_HTTP',
      false,
    ]);
  });

  it('reads a body that is not JSON as PROVIDER_RESPONSE_INVALID', async () => {
    const error = await failure({ body: '[{"id": "bitcoin",' });
    assert.equal(error.code, 'PROVIDER_RESPONSE_INVALID');
  });

  it('reads JSON of the wrong shape as PROVIDER_RESPONSE_INVALID', async () => {
    const error = await failure({ body: { status: 'fine' } });
    assert.equal(error.code, 'PROVIDER_RESPONSE_INVALID');
  });

  it('gives up after the request timeout with PROVIDER_TIMEOUT', async () => {
    const error = await failure({ delayMs: 300, body: [] }, 50);
    assert.equal(error.code, 'PROVIDER_TIMEOUT');
  });

  it('reads a dropped connection as PROVIDER_NETWORK', async () => {
    const error = await failure({ reset: true });
    assert.equal(error.code, 'PROVIDER_NETWORK');
    assert.equal(error.retryable, true);
  });

  it('says in plain words that nothing listens where a provider should be', async () => {
    const closed = await startFakeProvider();
    const baseUrl = closed.baseUrl;
    await closed.close();
    const provider = new CoinGeckoProvider({ baseUrl, timeoutMs: 1000 });
    await assert.rejects(provider.fetch(['BTC'], signal), (error: ProviderHttpError) => {
      assert.equal(error.code, 'PROVIDER_NETWORK');
      assert.match(error.message, /connection refused \(ECONNREFUSED\)/);
      return true;
    });
  });
});

import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { PriceProvider } from '../core/ports/provider.ts';
import type { PriceObservation } from '../core/records/price.ts';
import { startFakeProvider, type FakeProvider } from './testing/fake-provider.ts';
import { fixture } from './testing/shared.ts';
import { CoinGeckoProvider } from './providers/coingecko.ts';
import { CoinbaseProvider } from './providers/coinbase.ts';
import { ProviderChain } from './fallback.ts';

const signal = new AbortController().signal;
const NOW = 1_760_000_000_000;

function stub(name: string, serve: (symbols: string[]) => PriceObservation[] | Error): PriceProvider {
  return {
    name,
    kind: 'live',
    async fetch(symbols) {
      const answer = serve(symbols);
      if (answer instanceof Error) throw answer;
      return { observations: answer, rejects: [] };
    },
  };
}
const price = (source: string, symbol: string, price_usd = 100): PriceObservation => ({ source, symbol, ts: NOW - 1000, price_usd });

describe('provider fallback', () => {
  let server: FakeProvider;
  before(async () => {
    server = await startFakeProvider({
      '/api/v3/coins/markets': { status: 429, headers: { 'retry-after': '60' }, body: fixture('coingecko_error_429.json') },
      '/products/BTC-USD/ticker': { body: fixture('coinbase_exchange_product_ticker.json') },
      '/products/ETH-USD/ticker': { body: fixture('coinbase_exchange_product_ticker.json').replace('6268.48', '140.5') },
    });
  });
  after(() => server.close());

  it('takes every symbol from the second provider when the first answers 429', async () => {
    const chain = new ProviderChain(
      [
        new CoinGeckoProvider({ baseUrl: server.baseUrl, timeoutMs: 1000 }),
        new CoinbaseProvider({ baseUrl: server.baseUrl, timeoutMs: 1000 }),
      ],
      () => NOW,
    );
    const result = await chain.fetch(['BTC', 'ETH'], signal);
    assert.deepEqual(
      result.records.map((r) => [r.source, r.symbol, r.price_usd]),
      [
        ['coinbase', 'BTC', 6268.48],
        ['coinbase', 'ETH', 140.5],
      ],
    );
    assert.deepEqual(result.unserved, []);
    assert.deepEqual(
      result.fallbacks.map((f) => [f.symbol, f.from, f.to]),
      [
        ['BTC', 'coingecko', 'coinbase'],
        ['ETH', 'coingecko', 'coinbase'],
      ],
    );
    assert.match(result.fallbacks[0]!.reason, /^http_429: coingecko GET .* answered HTTP 429/);
    const [gecko, coinbase] = chain.providerStatus();
    assert.deepEqual(
      [gecko!.requests, gecko!.failures, gecko!.failuresByKind, gecko!.ok, gecko!.fallbacks],
      [1, 1, { http_429: 1 }, false, 2],
    );
    assert.match(gecko!.lastError!, /HTTP 429/);
    assert.deepEqual([coinbase!.requests, coinbase!.recordsServed, coinbase!.ok, coinbase!.lastSuccessAt], [1, 2, true, NOW]);
  });

  it('asks the next provider only for the symbols the first left out or got wrong', async () => {
    const asked: string[][] = [];
    const a = stub('a', () => [price('a', 'BTC'), price('a', 'ETH', 0)]);
    const b = stub('b', (symbols) => {
      asked.push(symbols);
      return symbols.map((symbol) => price('b', symbol));
    });
    const result = await new ProviderChain([a, b], () => NOW).fetch(['BTC', 'ETH', 'SOL'], signal);
    assert.deepEqual(asked, [['ETH', 'SOL']]);
    assert.deepEqual(
      result.records.map((r) => `${r.source}:${r.symbol}`),
      ['a:BTC', 'b:ETH', 'b:SOL'],
    );
    assert.deepEqual(
      result.fallbacks.map((f) => [f.symbol, f.reason.split(':')[0]]),
      [
        ['ETH', 'invalid'],
        ['SOL', 'missing'],
      ],
    );
    assert.equal(result.deadLetters.length, 1);
    assert.equal(result.deadLetters[0]!.source, 'a');
    assert.match(result.deadLetters[0]!.reason, /price_usd/);
  });

  it('says why when nothing is served', async () => {
    const a = stub('a', () => Object.assign(new Error('boom'), {}));
    const b = stub('b', () => []);
    const chain = new ProviderChain([a, b], () => NOW);
    const result = await chain.fetch(['BTC'], signal);
    assert.deepEqual(result.records, []);
    assert.deepEqual(result.unserved, ['BTC']);
    assert.deepEqual(
      chain.recentFallbacks().map((f) => [f.from, f.to, f.reason]),
      [
        ['b', null, 'missing: not in the answer'],
        ['a', 'b', 'error: boom'],
      ],
    );
    assert.deepEqual(
      chain.providerStatus().map((s) => [s.name, s.ok, s.lastError]),
      [
        ['a', false, 'boom'],
        ['b', true, null],
      ],
    );
  });

  it('gives each provider but the last a whole number of milliseconds, whatever is left (AbortSignal.timeout throws on a fraction)', async () => {
    const deadlines: number[] = [];
    const chain = new ProviderChain(
      [stub('a', () => new Error('down')), stub('b', () => new Error('down')), stub('c', () => [])],
      () => NOW,
      async (provider, symbols, signal, context) => {
        deadlines.push(context.deadline);
        return provider.fetch(symbols, signal);
      },
    );
    await chain.fetch(['BTC'], signal, NOW + 1_001);
    assert.equal(deadlines.length, 3);
    for (const deadline of deadlines) assert.ok(Number.isInteger(deadline - NOW), `deadline ${deadline - NOW} ms from now is not whole`);
    assert.deepEqual(
      deadlines.map((deadline) => deadline - NOW),
      [500, 500, 1_001],
    );
  });
});

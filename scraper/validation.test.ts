import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { PriceProvider } from '../core/ports/provider.ts';
import { startFakeProvider, type FakeProvider, type FakeRoute } from './testing/fake-provider.ts';
import { bodies } from './testing/bodies.ts';
import { guardedScraper, testClock } from './testing/harness.ts';
import { BinanceProvider } from './providers/binance.ts';
import { CoinbaseProvider } from './providers/coinbase.ts';
import { CoinCapProvider } from './providers/coincap.ts';
import { CoinGeckoProvider } from './providers/coingecko.ts';
import { CoinMarketCapProvider } from './providers/coinmarketcap.ts';
import { KrakenProvider } from './providers/kraken.ts';

let server: FakeProvider | undefined;
afterEach(() => server?.close());

async function poll(
  providers: (base: { baseUrl: string; timeoutMs: number }) => PriceProvider[],
  routes: Record<string, FakeRoute>,
  symbols = ['BTC', 'ETH'],
) {
  server = await startFakeProvider(routes);
  const h = guardedScraper({
    providers: providers({ baseUrl: server.baseUrl, timeoutMs: 500 }),
    symbols,
    settings: { retry: { retries: 0, minDelayMs: 1, maxDelayMs: 1 } },
  });
  const summary = await h.scraper.pollOnce();
  return { h, summary, prices: await h.prices(), letters: await h.deadLetters() };
}

const gecko = (coins: object[]) => ({ '/api/v3/coins/markets': { body: coins } });

describe('what reaches the bus from invalid provider answers', () => {
  it('dead-letters a coin whose price field is missing or renamed, with the raw item, and publishes the rest', async () => {
    const [btc, eth] = bodies.coingecko(['BTC', 'ETH']) as Record<string, unknown>[];
    const { current_price, ...renamed } = eth!;
    const { prices, letters } = await poll((b) => [new CoinGeckoProvider(b)], gecko([btc!, { ...renamed, currentPrice: current_price }]));
    assert.deepEqual(
      prices.map((p) => p.symbol),
      ['BTC'],
    );
    assert.equal(letters.length, 1);
    assert.equal(letters[0]!.source, 'coingecko');
    assert.match(letters[0]!.reason, /current_price/);
    assert.match(letters[0]!.payload, /"currentPrice":70188/);
  });

  it('publishes numbers sent as text and dead-letters text that is not a number', async () => {
    const [btc, eth] = bodies.binance(['BTC', 'ETH']) as Record<string, unknown>[];
    const { prices, letters } = await poll((b) => [new BinanceProvider(b)], {
      '/api/v3/ticker/24hr': { body: [btc, { ...eth, lastPrice: 'NaN' }] },
    });
    assert.deepEqual(
      prices.map((p) => [p.symbol, p.price_usd]),
      [['BTC', 4]],
    );
    assert.match(letters[0]!.reason, /lastPrice/);
  });

  it('dead-letters a null price and never publishes it, falling back to the next provider', async () => {
    const [btc, eth] = bodies.coingecko(['BTC', 'ETH']) as Record<string, unknown>[];
    const { prices, letters } = await poll((b) => [new CoinGeckoProvider(b), new BinanceProvider(b)], {
      ...gecko([btc!, { ...eth, current_price: null }]),
      '/api/v3/ticker/24hr': { body: bodies.binance(['ETH']) },
    });
    assert.deepEqual(prices.map((p) => `${p.source}:${p.symbol}`).sort(), ['binance:ETH', 'coingecko:BTC']);
    assert.deepEqual(
      letters.map((l) => [l.source, l.reason]),
      [['coingecko', 'current_price: null']],
    );
  });

  it('dead-letters a zero or negative price that parses, as the record schema refuses it', async () => {
    const [btc, eth] = bodies.coingecko(['BTC', 'ETH']) as Record<string, unknown>[];
    const { prices, letters } = await poll(
      (b) => [new CoinGeckoProvider(b)],
      gecko([
        { ...btc, current_price: 0 },
        { ...eth, current_price: -5 },
      ]),
    );
    assert.deepEqual(prices, []);
    assert.equal(letters.length, 2);
    for (const letter of letters) assert.match(letter.reason, /price_usd/);
  });

  it('publishes nothing and dead-letters nothing for an empty array, and says the symbols were missing', async () => {
    const { prices, letters, summary, h } = await poll((b) => [new CoinGeckoProvider(b)], gecko([]));
    assert.deepEqual([prices, letters, summary.unserved], [[], [], ['BTC', 'ETH']]);
    assert.deepEqual(
      h.scraper.status().recentFallbacks.map((f) => f.reason),
      ['missing: not in the answer', 'missing: not in the answer'],
    );
  });

  it('asks only the provider that knows a symbol unknown to another', async () => {
    const { prices } = await poll(
      (b) => [new KrakenProvider(b), new CoinbaseProvider(b)],
      { '/0/public/Ticker': { body: bodies.kraken(['BTC']) }, '/products/PEPE-USD/ticker': { body: bodies.coinbaseTicker() } },
      ['BTC', 'PEPE'],
    );
    assert.deepEqual(prices.map((p) => `${p.source}:${p.symbol}`).sort(), ['coinbase:PEPE', 'kraken:BTC']);
    assert.equal(server!.requests.find((r) => r.path === '/0/public/Ticker')!.query.get('pair'), 'XBTUSD');
  });

  it('dead-letters a whole answer of the wrong shape with its raw body', async () => {
    const { prices, letters } = await poll((b) => [new CoinCapProvider({ ...b, apiKey: 'k' })], {
      '/v3/assets': { body: { data: null, timestamp: 'soon' } },
    });
    assert.deepEqual(prices, []);
    assert.equal(letters[0]!.source, 'coincap');
    assert.match(letters[0]!.reason, /unexpected response shape/);
    assert.deepEqual(JSON.parse(letters[0]!.payload), { data: null, timestamp: 'soon' });
  });
});

/** Corrupted variants of a JSON document: values swapped for bad ones, keys dropped or renamed, text cut. */
function* corruptions(text: string, seed: number, count: number): Generator<string> {
  let state = seed;
  const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const bad: unknown[] = [null, '', 'abc', 'NaN', '-1', -1, 0, 1e308, true, [], {}, '1e400', 'Infinity', '2024-13-45'];
  yield '';
  yield 'null';
  yield '[]';
  yield '{}';
  yield text.slice(0, text.length / 2);
  for (let i = 0; i < count; i++) {
    const doc = JSON.parse(text) as unknown;
    const paths: { parent: Record<string, unknown>; key: string }[] = [];
    const walk = (node: unknown) => {
      if (node && typeof node === 'object')
        for (const key of Object.keys(node)) {
          paths.push({ parent: node as Record<string, unknown>, key });
          walk((node as Record<string, unknown>)[key]);
        }
    };
    walk(doc);
    for (let edits = 1 + Math.floor(random() * 3); edits > 0 && paths.length > 0; edits--) {
      const { parent, key } = paths[Math.floor(random() * paths.length)]!;
      const how = random();
      if (how < 0.5) parent[key] = bad[Math.floor(random() * bad.length)];
      else if (how < 0.75) delete parent[key];
      else {
        parent[`${key}_renamed`] = parent[key];
        delete parent[key];
      }
    }
    yield JSON.stringify(doc);
  }
}

describe('fuzzing provider answers', () => {
  const cases: { name: string; path: string; body: string; make: (b: { baseUrl: string; timeoutMs: number }) => PriceProvider }[] = [
    {
      name: 'coingecko',
      path: '/api/v3/coins/markets',
      body: JSON.stringify(bodies.coingecko(['BTC', 'ETH'])),
      make: (b) => new CoinGeckoProvider(b),
    },
    {
      name: 'binance',
      path: '/api/v3/ticker/24hr',
      body: JSON.stringify(bodies.binance(['BTC', 'ETH'])),
      make: (b) => new BinanceProvider(b),
    },
    { name: 'kraken', path: '/0/public/Ticker', body: JSON.stringify(bodies.kraken(['BTC', 'ETH'])), make: (b) => new KrakenProvider(b) },
    {
      name: 'coincap',
      path: '/v3/assets',
      body: JSON.stringify(bodies.coincap(['BTC', 'ETH'])),
      make: (b) => new CoinCapProvider({ ...b, apiKey: 'k' }),
    },
    {
      name: 'coinmarketcap',
      path: '/v2/cryptocurrency/quotes/latest',
      body: bodies.coinmarketcap(),
      make: (b) => new CoinMarketCapProvider({ ...b, apiKey: 'k' }),
    },
    { name: 'coinbase', path: '/products/BTC-USD/ticker', body: bodies.coinbaseTicker(), make: (b) => new CoinbaseProvider(b) },
  ];
  for (const { name, path, body, make } of cases) {
    it(`never crashes and never publishes a bad record, over 60 corrupted ${name} answers`, async () => {
      server = await startFakeProvider();
      const clock = testClock();
      const h = guardedScraper({
        providers: [make({ baseUrl: server.baseUrl, timeoutMs: 500 })],
        symbols: name === 'coinbase' ? ['BTC'] : ['BTC', 'ETH'],
        settings: { retry: { retries: 0, minDelayMs: 1, maxDelayMs: 1 }, circuit: { failureThreshold: 1_000, cooldownMs: 1 } },
        clock,
      });
      let polls = 0;
      for (const variant of corruptions(body, name.length * 7919, 60)) {
        server.route(path, { body: variant });
        const summary = await h.scraper.pollOnce();
        assert.ok(summary.published + summary.unserved.length >= 1, 'every symbol is published or reported unserved');
        clock.advance(10_000);
        polls++;
      }
      // prices() parses every published message with the record schema: a bad record fails here.
      for (const record of await h.prices()) assert.ok(record.price_usd > 0 && Number.isFinite(record.price_usd));
      for (const letter of await h.deadLetters()) assert.ok(letter.source === name && letter.reason.length > 0);
      assert.equal(h.scraper.status().polls, polls);
    });
  }
});

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MemoryCache } from '../core/adapters/memory/cache.ts';
import type { PriceProvider } from '../core/ports/provider.ts';
import { StatusBoard } from '../core/status-board.ts';
import type { GuardSettings } from './guarded-call.ts';
import { BinanceProvider } from './providers/binance.ts';
import { CoinGeckoProvider } from './providers/coingecko.ts';
import { CoinMarketCapProvider } from './providers/coinmarketcap.ts';
import { KrakenProvider } from './providers/kraken.ts';
import { providerIds } from './symbols.ts';
import { bodies } from './testing/bodies.ts';
import { startFakeProvider, type FakeProvider, type FakeResponse, type FakeRoute, type SeenRequest } from './testing/fake-provider.ts';
import { guardedScraper, testClock, type GuardedScraper } from './testing/harness.ts';
import { fixture } from './testing/shared.ts';

const GECKO = '/api/v3/coins/markets';
const BINANCE = '/api/v3/ticker/24hr';
const KRAKEN = '/0/public/Ticker';
const CMC = '/v2/cryptocurrency/quotes/latest';
const SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP', 'ADA', 'DOT'];
const HOUR = 3_600_000;

let server: FakeProvider | undefined;
afterEach(() => server?.close());

/** A fake provider server and a guarded scraper polling `SYMBOLS` from `chain`, then CoinGecko, which serves every symbol. */
async function setup(chain: string[], routes: Record<string, FakeRoute>, settings: Partial<GuardSettings> = {}) {
  server = await startFakeProvider({ [GECKO]: { body: bodies.coingecko(SYMBOLS, 70_000) }, ...routes });
  const clock = testClock();
  const base = { baseUrl: server.baseUrl, timeoutMs: 1000 };
  const make: Record<string, () => PriceProvider> = {
    binance: () => new BinanceProvider(base),
    kraken: () => new KrakenProvider({ ...base, now: clock.now }),
    coinmarketcap: () => new CoinMarketCapProvider({ ...base, apiKey: 'k' }),
  };
  const providers = [...chain.map((name) => make[name]!()), new CoinGeckoProvider(base)];
  return guardedScraper({ providers, symbols: SYMBOLS, settings, clock });
}

/** Binance's documented answers: the tickers asked for, or the whole batch refused (-1121) when it names `unlisted`. */
const binance =
  (unlisted: string) =>
  (request: SeenRequest): FakeResponse => {
    const pairs = JSON.parse(request.query.get('symbols') ?? '[]') as string[];
    if (pairs.includes(unlisted)) return { status: 400, body: fixture('binance_error_body.json') };
    return { body: bodies.binance(SYMBOLS.filter((symbol) => pairs.includes(providerIds(symbol).binance!))) };
  };

/** Kraken's documented answers: the pairs asked for, or `EQuery:Unknown asset pair` (HTTP 200) when the request names `unlisted`. */
const kraken =
  (unlisted: string) =>
  (request: SeenRequest): FakeResponse => {
    const pairs = (request.query.get('pair') ?? '').split(',');
    if (pairs.includes(unlisted)) return { body: fixture('kraken_error_unknown_pair.json') };
    return { body: bodies.kraken(SYMBOLS.filter((symbol) => pairs.includes(providerIds(symbol).kraken!.pair))) };
  };

const calls = (path: string) => server!.requests.filter((request) => request.path === path);
/** Requests to Binance that named SOLUSDT: each was refused whole. */
const namingSol = () => calls(BINANCE).filter((request) => request.query.get('symbols')!.includes('SOLUSDT')).length;
/** Who served each symbol in the last poll, as `source:SYMBOL`. */
const lastPoll = async (h: GuardedScraper) => {
  const at = h.clock.now();
  return (await h.prices())
    .filter((record) => record.ingested_at === at)
    .map((record) => `${record.source}:${record.symbol}`)
    .sort();
};
const fallbacks = async (h: GuardedScraper) => (await new StatusBoard(h.cache).read('scraper'))!.recentFallbacks;

describe('a symbol a provider does not list', () => {
  it('leaves the other symbols with Binance, hands the unlisted one to the fallback saying so, and does not ask Binance for it again within the hour', async () => {
    const h = await setup(['binance'], { [BINANCE]: binance('SOLUSDT') });

    await h.scraper.pollOnce();
    assert.deepEqual(await lastPoll(h), ['binance:ADA', 'binance:BTC', 'binance:DOT', 'binance:ETH', 'binance:XRP', 'coingecko:SOL']);
    const [sol] = (await fallbacks(h)).filter((fallback) => fallback.symbol === 'SOL');
    assert.deepEqual([sol?.from, sol?.to], ['binance', 'coingecko']);
    assert.match(sol!.reason, /^unlisted: binance does not list SOL \(.*-1121 Invalid symbol\.\); asked of the next provider until /);
    const search = calls(BINANCE).length;
    assert.ok(search <= 7, `${search} requests to find one pair among six`);

    h.clock.advance(10_000);
    await h.scraper.pollOnce();
    assert.equal(calls(BINANCE).length, search + 1, 'one request in the next poll');
    assert.equal(calls(BINANCE).at(-1)!.query.get('symbols'), '["BTCUSDT","ETHUSDT","XRPUSDT","ADAUSDT","DOTUSDT"]');
    assert.match((await fallbacks(h)).find((fallback) => fallback.symbol === 'SOL')!.reason, /^unlisted: binance does not list SOL/);

    h.clock.advance(HOUR);
    const before = namingSol();
    await h.scraper.pollOnce();
    assert.ok(namingSol() > before, 'after the hour Binance is asked for SOL again');
    assert.deepEqual(await lastPoll(h), ['binance:ADA', 'binance:BTC', 'binance:DOT', 'binance:ETH', 'binance:XRP', 'coingecko:SOL']);
  });

  it('sends Binance no request naming SOL for an hour of polls once it found SOL unlisted', async () => {
    const h = await setup(['binance'], { [BINANCE]: binance('SOLUSDT') });
    await h.scraper.pollOnce();
    const found = namingSol();
    for (let poll = 0; poll < 359; poll++) {
      h.clock.advance(10_000);
      await h.scraper.pollOnce();
    }
    assert.equal(namingSol(), found, 'no request naming SOLUSDT after it was found unlisted');
  });

  it('searches for the unlisted pair inside the rate budget: the symbols it could not check fall back as rate_limited', async () => {
    // Room for three ticker/24hr calls of weight 2 a minute: the whole batch, then two halves.
    const h = await setup(['binance'], { [BINANCE]: binance('SOLUSDT') }, { rateLimits: { binance: { limit: 6, windowMs: 60_000 } } });
    await h.scraper.pollOnce();
    assert.equal(calls(BINANCE).length, 3);
    assert.deepEqual(await lastPoll(h), ['binance:BTC', 'binance:ETH', 'coingecko:ADA', 'coingecko:DOT', 'coingecko:SOL', 'coingecko:XRP']);
    for (const fallback of (await fallbacks(h)).filter((item) => item.from === 'binance')) {
      assert.match(fallback.reason, /^rate_limited: binance: rate limit of 6 per 60 s used up/, fallback.symbol);
    }
  });

  it('finds the one pair Kraken does not know by splitting the batch, keeps the others with Kraken, and keeps its circuit closed', async () => {
    // XBTUSD first: the search meets four refusals in a row, more than the circuit's threshold of failures.
    const h = await setup(['kraken'], { [KRAKEN]: kraken('XBTUSD') });
    await h.scraper.pollOnce();
    assert.deepEqual(await lastPoll(h), ['coingecko:BTC', 'kraken:ADA', 'kraken:DOT', 'kraken:ETH', 'kraken:SOL', 'kraken:XRP']);
    const btc = (await fallbacks(h)).find((fallback) => fallback.symbol === 'BTC')!;
    assert.match(btc.reason, /^unlisted: kraken does not list BTC \(kraken Ticker answered error EQuery:Unknown asset pair\)/);
    const search = calls(KRAKEN).length;
    assert.ok(search <= 7, `${search} calls to find one pair among six`);
    assert.equal(h.guard.circuitState('kraken'), 'closed');

    h.clock.advance(10_000);
    await h.scraper.pollOnce();
    assert.equal(calls(KRAKEN).length, search + 1);
    assert.equal(calls(KRAKEN).at(-1)!.query.get('pair'), 'ETHUSD,SOLUSD,XRPUSD,ADAUSD,DOTUSD');
  });

  it('lets replicas sharing a cache find the unlisted pair with one search between them', async () => {
    server = await startFakeProvider({ [GECKO]: { body: bodies.coingecko(SYMBOLS, 70_000) }, [BINANCE]: binance('SOLUSDT') });
    const clock = testClock();
    const cache = new MemoryCache(clock.now);
    const base = { baseUrl: server.baseUrl, timeoutMs: 1000 };
    const replica = (instance: string) =>
      guardedScraper({
        providers: [new BinanceProvider(base), new CoinGeckoProvider(base)],
        symbols: SYMBOLS,
        settings: { cacheTtlMs: 10_000 },
        cache,
        clock,
        instance,
      });
    const [first, second] = [replica('first'), replica('second')];
    await first.scraper.pollOnce();
    const search = calls(BINANCE).length;
    await second.scraper.pollOnce();
    assert.equal(calls(BINANCE).length, search, 'the second replica read every answer of the search from the cache');
    assert.deepEqual(
      second.scraper.status().recentFallbacks.map((fallback) => [fallback.symbol, fallback.reason.split(':')[0]]),
      [['SOL', 'unlisted']],
    );
  });

  it('asks CoinMarketCap to skip unknown tickers, and asks again at once without the tickers a refusal names', async () => {
    const quotes = JSON.parse(fixture('coinmarketcap_quotes_latest_v2.json')) as object;
    const h = await setup(['coinmarketcap'], {
      [CMC]: (request) => {
        const tickers = (request.query.get('symbol') ?? '').split(',');
        if (!tickers.includes('DOT')) return { body: quotes };
        const status = { error_code: 400, error_message: 'Invalid value for "symbol": "DOT"', elapsed: 0, credit_count: 0 };
        return { status: 400, body: { status } };
      },
    });
    await h.scraper.pollOnce();
    assert.equal(calls(CMC)[0]!.query.get('skip_invalid'), 'true');
    assert.deepEqual(
      calls(CMC).map((request) => request.query.get('symbol')),
      ['BTC,ETH,SOL,XRP,ADA,DOT', 'BTC,ETH,SOL,XRP,ADA'],
    );
    assert.ok((await lastPoll(h)).includes('coinmarketcap:BTC'));
    assert.match((await fallbacks(h)).find((fallback) => fallback.symbol === 'DOT')!.reason, /^unlisted: coinmarketcap does not list DOT/);
  });
});

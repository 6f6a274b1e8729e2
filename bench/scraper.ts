/**
 * The scraper against six local fake providers (scraper/testing/fake-provider.ts, bodies from
 * shared/reference/provider-responses/), the shared Redis of the local stack for the replicas:
 *
 *   npx tsx bench/scraper.ts [--seconds 15] [--rounds 20] [--runs 3] [--quick]   (--quick = 5 s, 8 rounds, 1 run)
 *
 * Symbols: the 10 the symbol table knows at every provider (scraper/symbols.ts; 100 symbols would
 * need table entries, which only the scraper may add). Each provider serves two of them and lacks
 * the rest, so every poll walks the whole chain coingecko -> binance -> kraken -> coincap ->
 * coinmarketcap -> coinbase (6 providers, 7 upstream calls per poll: coinbase asks ticker + stats).
 *  - polls/s: one scraper (guarded path as start.ts wires it, memory bus, no cache reuse, rate
 *    budgets set far above the load) polling back to back for `--seconds`; records published and upstream calls per poll;
 *  - cache: 3 replicas on one Redis polling the same interval `--rounds` times, a few ms apart,
 *    with the shared cache (PROVIDER_CACHE_TTL_MS = the interval) and without (TTL 0): upstream
 *    calls each way and the share saved.
 * Medians of `--runs`. Redis keys are under a unique `bench-scraper-<id>:` prefix (they expire).
 * Writes bench/results/scraper.json.
 */
import { parseArgs } from 'node:util';
import { MemoryBus } from '../core/adapters/memory/bus.ts';
import { RedisCache } from '../core/adapters/redis/cache.ts';
import type { PriceProvider } from '../core/ports/provider.ts';
import { startFakeProvider, type FakeProvider } from '../scraper/testing/fake-provider.ts';
import { bodies } from '../scraper/testing/bodies.ts';
import { fixture } from '../scraper/testing/shared.ts';
import { guardedScraper, type TestClock } from '../scraper/testing/harness.ts';
import { CoinGeckoProvider } from '../scraper/providers/coingecko.ts';
import { BinanceProvider } from '../scraper/providers/binance.ts';
import { KrakenProvider } from '../scraper/providers/kraken.ts';
import { CoinCapProvider } from '../scraper/providers/coincap.ts';
import { CoinMarketCapProvider } from '../scraper/providers/coinmarketcap.ts';
import { CoinbaseProvider } from '../scraper/providers/coinbase.ts';
import { stack } from '../tests/support/stack.ts';
import { median, round, sleep, writeResult } from './support.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds ?? (values.quick ? 5 : 15));
const ROUNDS = Number(values.rounds ?? (values.quick ? 8 : 20));
const RUNS = Number(values.runs ?? (values.quick ? 1 : 3));
const SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP', 'ADA', 'DOGE', 'LTC', 'DOT', 'BNB', 'LINK'];
const POLL_INTERVAL_MS = 400;
const id = Date.now().toString(36);
/**
 * The wall clock rounded down to even milliseconds. scraper/fallback.ts gives each provider but the
 * last `now + left / 2` as deadline; with an odd `left` that is a fraction, and guarded-call's
 * `AbortSignal.timeout` throws on it ("The value of "delay" is out of range"), failing the call and
 * in time opening the provider's circuit. An even clock keeps `left` even (reported as a bug).
 */
const evenNow = () => {
  const now = Date.now();
  return now - (now % 2);
};
const realClock: TestClock = { now: evenNow, advance: () => undefined, sleep };
const PROVIDERS = ['coingecko', 'binance', 'kraken', 'coincap', 'coinmarketcap', 'coinbase'];
/** Budgets far above what the bench asks, so the scraper's own speed is measured, not the providers' limits. */
const NO_LIMITS = Object.fromEntries(PROVIDERS.map((name) => [name, { limit: 1e9, windowMs: 60_000 }]));

/** CoinMarketCap's documented quote, cloned for `symbol`. */
function coinmarketcapBody(symbol: string): object {
  const body = JSON.parse(fixture('coinmarketcap_quotes_latest_v2.json')) as { data: Record<string, object>; status: object };
  const coin = Object.values(body.data)[0]!;
  return { status: body.status, data: { [symbol]: [{ ...coin, symbol }] } };
}

/** The six fake providers, each answering for two of the symbols only. */
async function startProviders(): Promise<{ servers: FakeProvider[]; providers: () => PriceProvider[] }> {
  const opts = (server: FakeProvider) => ({ baseUrl: server.baseUrl, timeoutMs: 2_000 });
  const gecko = await startFakeProvider({ '/api/v3/coins/markets': { body: bodies.coingecko(SYMBOLS.slice(0, 2)) } });
  const binance = await startFakeProvider({ '/api/v3/ticker/24hr': { body: bodies.binance(SYMBOLS.slice(2, 4)) } });
  const kraken = await startFakeProvider({ '/0/public/Ticker': { body: bodies.kraken(SYMBOLS.slice(4, 6)) } });
  const coincap = await startFakeProvider({ '/v3/assets': { body: bodies.coincap(SYMBOLS.slice(6, 8)) } });
  const cmc = await startFakeProvider({ '/v2/cryptocurrency/quotes/latest': { body: coinmarketcapBody(SYMBOLS[8]!) } });
  const coinbase = await startFakeProvider(
    Object.fromEntries(SYMBOLS.map((symbol) => [`/products/${symbol}-USD/ticker`, { body: bodies.coinbaseTicker() }])),
  );
  return {
    servers: [gecko, binance, kraken, coincap, cmc, coinbase],
    providers: () => [
      new CoinGeckoProvider(opts(gecko)),
      new BinanceProvider(opts(binance)),
      new KrakenProvider(opts(kraken)),
      new CoinCapProvider(opts(coincap)),
      new CoinMarketCapProvider(opts(cmc)),
      new CoinbaseProvider(opts(coinbase)),
    ],
  };
}

const upstreamCalls = (servers: FakeProvider[]) => servers.reduce((sum, server) => sum + server.requests.length, 0);

/** One scraper polling back to back for SECONDS: polls/s, records and upstream calls per poll. */
async function pollRate(servers: FakeProvider[], providers: PriceProvider[]) {
  const harness = guardedScraper({
    providers,
    symbols: SYMBOLS,
    settings: { rateLimits: NO_LIMITS },
    clock: realClock,
    bus: new MemoryBus(),
    pollIntervalMs: 1_000,
  });
  const callsBefore = upstreamCalls(servers);
  let polls = 0;
  let published = 0;
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1000) {
    published += (await harness.scraper.pollOnce()).published;
    polls += 1;
  }
  const seconds = (performance.now() - started) / 1000;
  const served = Object.fromEntries(harness.scraper.status().providers.map((p) => [p.name, p.recordsServed]));
  const failures = Object.fromEntries(harness.scraper.status().providers.map((p) => [p.name, p.failures]));
  return {
    pollsPerSecond: round(polls / seconds, 1),
    recordsPerPoll: round(published / polls, 2),
    upstreamCallsPerPoll: round((upstreamCalls(servers) - callsBefore) / polls, 2),
    served,
    failures,
  };
}

/** Three replicas on one Redis polling ROUNDS intervals: upstream calls with `cacheTtlMs`. */
async function replicaCalls(servers: FakeProvider[], providers: () => PriceProvider[], redisUrl: string, cacheTtlMs: number, run: string) {
  const keyPrefix = `bench-scraper-${id}-${run}-${cacheTtlMs}:`;
  const caches = [0, 1, 2].map(() => new RedisCache(redisUrl, { keyPrefix }));
  const bus = new MemoryBus();
  const topics = { prices: `bench-scraper-${id}`, deadLetters: `bench-scraper-${id}-dead` };
  const replicas = caches.map((cache, i) =>
    guardedScraper({
      providers: providers(),
      symbols: SYMBOLS,
      settings: { cacheTtlMs, rateLimits: NO_LIMITS },
      cache,
      bus,
      clock: realClock,
      pollIntervalMs: POLL_INTERVAL_MS,
      topics,
      instance: `replica-${i}`,
    }),
  );
  const before = upstreamCalls(servers);
  let published = 0;
  try {
    for (let r = 0; r < ROUNDS; r += 1) {
      // Start each round 50 ms into an interval, so the replicas a few ms apart never straddle two.
      await sleep(POLL_INTERVAL_MS - ((Date.now() - 50) % POLL_INTERVAL_MS));
      const results = await Promise.all(replicas.map((h, i) => sleep(i * 5).then(() => h.scraper.pollOnce())));
      published += results.reduce((sum, result) => sum + result.published, 0);
    }
  } finally {
    await Promise.all(caches.map((cache) => cache.close()));
  }
  return { upstreamCalls: upstreamCalls(servers) - before, published };
}

const env = await stack();
const { servers, providers } = await startProviders();
const rates: Awaited<ReturnType<typeof pollRate>>[] = [];
const cached: number[] = [];
const uncached: number[] = [];
let publishedPerRun = 0;
try {
  for (let run = 1; run <= RUNS; run += 1) {
    rates.push(await pollRate(servers, providers()));
    const withCache = await replicaCalls(servers, providers, env.REDIS_URL, POLL_INTERVAL_MS, String(run));
    const withoutCache = await replicaCalls(servers, providers, env.REDIS_URL, 0, String(run));
    cached.push(withCache.upstreamCalls);
    uncached.push(withoutCache.upstreamCalls);
    publishedPerRun = withCache.published;
    process.stderr.write(`run ${run}: ${JSON.stringify({ rate: rates.at(-1), withCache, withoutCache })}\n`);
  }
} finally {
  await Promise.all(servers.map((server) => server.close()));
}
const withCache = median(cached);
const withoutCache = median(uncached);
const result = {
  symbols: SYMBOLS.length,
  providers: servers.length,
  seconds: SECONDS,
  runs: RUNS,
  pollsPerSecond: median(rates.map((r) => r.pollsPerSecond)),
  recordsPerPoll: median(rates.map((r) => r.recordsPerPoll)),
  upstreamCallsPerPoll: median(rates.map((r) => r.upstreamCallsPerPoll)),
  served: rates[0]?.served,
  replicas: {
    replicas: 3,
    rounds: ROUNDS,
    pollIntervalMs: POLL_INTERVAL_MS,
    publishedWithCache: publishedPerRun,
    upstreamCallsWithCache: withCache,
    upstreamCallsWithoutCache: withoutCache,
    saved: round(1 - withCache / withoutCache, 3),
  },
  node: process.version,
  at: new Date().toISOString(),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
await writeResult(values.quick ? 'scraper-quick' : 'scraper', result);
process.exit(0);

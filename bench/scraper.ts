/**
 * The scraper against six local fake providers (scraper/testing/fake-provider.ts, bodies from
 * shared/reference/provider-responses/), the shared Redis of the local stack for the replicas:
 *
 *   npx tsx bench/scraper.ts [--seconds 15] [--rounds 20] [--runs 3] [--quick]   (--quick = 5 s, 8 rounds, 1 run)
 *
 * Symbols: every one the symbol table knows (scraper/symbols.ts, at least 100). Symbol i is served
 * by provider i mod 6 of the chain coingecko -> binance -> kraken -> coincap -> coinmarketcap ->
 * coinbase, or by the next one after it that has an id for it; every provider answers only for its
 * share, so each poll walks the whole chain and every symbol but CoinGecko's falls back at least
 * once. Upstream calls per poll: one per provider, Coinbase two per symbol it is asked (ticker and
 * stats; stats is not routed and fails quietly, as the provider allows).
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
import { KNOWN_SYMBOLS, providerIds } from '../scraper/symbols.ts';
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
const SYMBOLS = [...KNOWN_SYMBOLS];
const POLL_INTERVAL_MS = 400;
const id = Date.now().toString(36);
const realClock: TestClock = { now: Date.now, advance: () => undefined, sleep };
const PROVIDERS = ['coingecko', 'binance', 'kraken', 'coincap', 'coinmarketcap', 'coinbase'] as const;
type ProviderName = (typeof PROVIDERS)[number];
/** Budgets far above what the bench asks, so the scraper's own speed is measured, not the providers' limits. */
const NO_LIMITS = Object.fromEntries(PROVIDERS.map((name) => [name, { limit: 1e9, windowMs: 60_000 }]));

/** True when `provider` would ask for `symbol` (the ones keyed by ticker ask for any). */
function knows(provider: ProviderName, symbol: string): boolean {
  const ids = providerIds(symbol);
  return provider === 'coinmarketcap' || provider === 'coinbase' || ids[provider] !== undefined;
}

/** Which symbols each provider answers for: symbol i goes to provider i mod 6, or the next that knows it. */
function shares(): Record<ProviderName, string[]> {
  const share = Object.fromEntries(PROVIDERS.map((name) => [name, [] as string[]])) as Record<ProviderName, string[]>;
  SYMBOLS.forEach((symbol, i) => {
    const owner = PROVIDERS.slice(i % PROVIDERS.length).find((name) => knows(name, symbol))!;
    share[owner].push(symbol);
  });
  return share;
}

/** CoinMarketCap's documented quote, cloned for each of `symbols`. */
function coinmarketcapBody(symbols: string[]): object {
  const body = JSON.parse(fixture('coinmarketcap_quotes_latest_v2.json')) as { data: Record<string, object>; status: object };
  const coin = Object.values(body.data)[0]!;
  return { status: body.status, data: Object.fromEntries(symbols.map((symbol) => [symbol, [{ ...coin, symbol }]])) };
}

/** The six fake providers, each answering for its share of the symbols only. */
async function startProviders(): Promise<{
  servers: FakeProvider[];
  providers: () => PriceProvider[];
  share: Record<ProviderName, string[]>;
}> {
  const share = shares();
  const opts = (server: FakeProvider) => ({ baseUrl: server.baseUrl, timeoutMs: 2_000 });
  const gecko = await startFakeProvider({ '/api/v3/coins/markets': { body: bodies.coingecko(share.coingecko) } });
  const binance = await startFakeProvider({ '/api/v3/ticker/24hr': { body: bodies.binance(share.binance) } });
  const kraken = await startFakeProvider({ '/0/public/Ticker': { body: bodies.kraken(share.kraken) } });
  const coincap = await startFakeProvider({ '/v3/assets': { body: bodies.coincap(share.coincap) } });
  const cmc = await startFakeProvider({ '/v2/cryptocurrency/quotes/latest': { body: coinmarketcapBody(share.coinmarketcap) } });
  const coinbase = await startFakeProvider(
    Object.fromEntries(share.coinbase.map((symbol) => [`/products/${symbol}-USD/ticker`, { body: bodies.coinbaseTicker() }])),
  );
  return {
    servers: [gecko, binance, kraken, coincap, cmc, coinbase],
    share,
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
/** Forgets the requests the fakes saw, so their log does not grow (and the heap with it) across phases and runs. */
const forgetRequests = (servers: FakeProvider[]) => servers.forEach((server) => (server.requests.length = 0));

const cpuMs = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;

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
  forgetRequests(servers);
  const cpuBefore = process.cpuUsage();
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
    upstreamCallsPerPoll: round(upstreamCalls(servers) / polls, 2),
    cpuMsPerPoll: round(cpuMs(process.cpuUsage(cpuBefore)) / polls, 2),
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
  forgetRequests(servers);
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
  return { upstreamCalls: upstreamCalls(servers), published };
}

const env = await stack();
const { servers, providers, share } = await startProviders();
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
  cpuMsPerPoll: median(rates.map((r) => r.cpuMsPerPoll)),
  pollsPerSecondRuns: rates.map((r) => r.pollsPerSecond),
  share: Object.fromEntries(Object.entries(share).map(([name, symbols]) => [name, symbols.length])),
  served: rates[0]?.served,
  failures: rates[0]?.failures,
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

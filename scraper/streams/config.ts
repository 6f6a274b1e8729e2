import { z } from 'zod';
import { booleanFlag, csvList, loadConfig, positiveInt } from '../../core/config.ts';
import { VENUES } from '../../core/records/trade.ts';
import { BINANCE_MAX_STREAMS } from './venues/binance/client.ts';

const wsUrl = (name: string, url: string, path: string) =>
  z
    .url({ protocol: /^wss?$/, error: 'expected a ws:// or wss:// URL' })
    .default(url)
    .describe(`${name} WebSocket root, without a trailing slash (the reader adds \`${path}\`). Default \`${url}\`.`);

/**
 * Settings of the exchange trade streams (`scraper/streams/`): which venues and coins, where the
 * venues' WebSockets are, how connections are kept alive, and how much may wait for the bus. The
 * REST history used to refill holes is reached at the scraper's `*_BASE_URL`s, inside the same
 * `*_RATE_LIMIT_PER_MIN` budgets as the polls.
 */
export const streamsConfigSchema = z
  .object({
    streamVenues: csvList(z.enum(VENUES, { error: `expected venues among ${VENUES.join(', ')}` }))
      .optional()
      .describe('Exchanges whose trade and ticker streams to read (comma list of binance, coinbase, kraken). Default: none (streams off).'),
    streamDemoVenues: booleanFlag()
      .default(false)
      .describe(
        '`npm start` only, with PROVIDERS=synthetic: starts made-up Binance, Coinbase and Kraken venues on loopback and reads their streams (what `npm run demo` sets). Default false.',
      ),
    streamDemoTradesPerSecond: positiveInt().default(20).describe('Trades per second per market of the demo venues. Default 20.'),
    streamSymbols: csvList(
      z
        .string()
        .regex(/^[A-Za-z0-9]{1,20}$/, 'expected tickers such as BTC,ETH')
        .transform((value) => value.toUpperCase()),
    )
      .default(['BTC', 'ETH'])
      .describe(
        'Coins whose trades to read on every stream venue, as USD (Coinbase, Kraken) and USDT (Binance) markets. Default `BTC,ETH`.',
      ),
    binanceWsUrl: wsUrl('Binance market streams', 'wss://stream.binance.com:9443', '/stream?streams=...'),
    coinbaseWsUrl: wsUrl('Coinbase Exchange feed', 'wss://ws-feed.exchange.coinbase.com', 'nothing'),
    krakenWsUrl: wsUrl('Kraken', 'wss://ws.kraken.com', '/v2'),
    streamPingIntervalMs: positiveInt().default(10_000).describe('How often a stream connection is pinged and checked, ms. Default 10000.'),
    streamIdleTimeoutMs: positiveInt()
      .default(30_000)
      .describe('A connection silent this long (no message, no pong) is taken for dead and replaced, ms. Default 30000.'),
    streamMaxConnectionAgeMs: positiveInt()
      .default(23 * 3_600_000)
      .describe('A connection is replaced (new one first) at this age; Binance closes them at 24 h, ms. Default 82800000 (23 h).'),
    streamReconnectMinMs: positiveInt().default(500).describe('First reconnect delay, doubled per failure, with jitter, ms. Default 500.'),
    streamReconnectMaxMs: positiveInt().default(30_000).describe('Longest reconnect delay, ms. Default 30000.'),
    streamBufferMaxMessages: positiveInt()
      .default(100_000)
      .describe('Messages that may wait for the bus; past it reading pauses (TCP pushes back on the venue), messages. Default 100000.'),
    streamStallDropMs: positiveInt()
      .default(15_000)
      .describe('Reading paused this long drops the connections; what they miss is fetched back or recorded as a gap, ms. Default 15000.'),
    streamReorderWindowMs: positiveInt()
      .default(2_000)
      .describe('How long a hole in trade ids waits for late (out-of-order) trades before it is fetched back from REST, ms. Default 2000.'),
    streamRefillMaxTrades: positiveInt()
      .default(100_000)
      .describe('Most missed trades fetched back for one hole; the rest is recorded as a gap, trades. Default 100000.'),
    streamRefillRetries: z.coerce
      .number({ error: 'expected a number' })
      .int('expected a whole number')
      .min(0, 'expected 0 or more')
      .default(3)
      .describe('Retries of a failed REST refill (network, 5xx, rate limit) before its trades are recorded as a gap. Default 3.'),
    streamRestartLookbackMs: positiveInt()
      .default(86_400_000)
      .describe(
        "At start, for a market no replica left a mark for in the shared cache, how far back from its newest trade in the lake to look for trade ids neither in the lake nor in a gap record (a crash's loss), to fetch them back or record them as gaps, ms. Default 86400000 (24 h).",
      ),
    streamTickerIntervalMs: positiveInt()
      .default(1_000)
      .describe("Most one price record per market per this many ms from the venues' tickers (`<venue>-stream` source), ms. Default 1000."),
  })
  .superRefine((config, ctx) => {
    // One combined connection carries every market's trade stream plus the all-market mini ticker.
    if (config.streamVenues?.includes('binance') && config.streamSymbols.length + 1 > BINANCE_MAX_STREAMS) {
      ctx.addIssue({
        code: 'custom',
        path: ['streamSymbols'],
        message: `Binance allows ${BINANCE_MAX_STREAMS - 1} markets on one connection; got ${config.streamSymbols.length}`,
      });
    }
  });

/** The validated stream settings. */
export type StreamsConfig = z.infer<typeof streamsConfigSchema>;

/** Reads the stream settings from `env`; throws a one-line `CONFIG_INVALID` error naming the variable. */
export function loadStreamsConfig(env: Record<string, string | undefined> = process.env): StreamsConfig {
  return loadConfig(streamsConfigSchema, env);
}

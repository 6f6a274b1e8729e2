import { hostname } from 'node:os';
import type { Adapters } from '../../core/adapters/select.ts';
import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { StreamsStatus } from '../../core/records/status.ts';
import type { Venue } from '../../core/records/trade.ts';
import { StatusBoard } from '../../core/status-board.ts';
import type { ScraperConfig } from '../config.ts';
import { RateLimiter } from '../rate-limiter.ts';
import { BoundedPublisher } from './bounded-publisher.ts';
import { StreamCheckpoints } from './checkpoints.ts';
import type { StreamsConfig } from './config.ts';
import { marketKey } from './lake-marks.ts';
import { MarkKeeper } from './mark-keeper.ts';
import { findStartPoints, type StartPoint } from './start-points.ts';
import { streamMetrics, streamReporter } from './stream-metrics.ts';
import { VenueStream } from './venue-stream.ts';
import { binanceHistory, binanceProtocol } from './venues/binance/client.ts';
import { coinbaseHistory, coinbaseProtocol } from './venues/coinbase/client.ts';
import { krakenHistory, krakenProtocol } from './venues/kraken/client.ts';
import type { StreamProtocol, TradeHistory } from './venues/venue.ts';

/** The running trade streams of every configured venue. */
export interface Streams {
  /** Stops reading, refills or records the open holes, then waits (at most `timeoutMs`) until the bus has everything. */
  stop(timeoutMs?: number): Promise<void>;
  status(): StreamsStatus;
  /** Resolves when every hole found so far was refilled or recorded and the bus has everything read so far. */
  settled(): Promise<void>;
}

const PROTOCOLS: Record<Venue, StreamProtocol> = { binance: binanceProtocol, coinbase: coinbaseProtocol, kraken: krakenProtocol };
const STATUS_INTERVAL_MS = 2_000;
/** How often each market's mark is noted and, once the bus has what it covers, shared. */
const MARK_INTERVAL_MS = 1_000;

/** What each venue is read with: its protocol, WebSocket root, REST history and REST budget. */
function venueParts(venue: Venue, streams: StreamsConfig, scraper: ScraperConfig) {
  const timeoutMs = scraper.requestTimeoutMs;
  const parts: Record<Venue, { protocol: StreamProtocol; root: string; history: TradeHistory; perMinute: number }> = {
    binance: {
      protocol: PROTOCOLS.binance,
      root: streams.binanceWsUrl,
      history: binanceHistory({ baseUrl: scraper.binanceBaseUrl, timeoutMs }),
      perMinute: scraper.binanceRateLimitPerMin,
    },
    coinbase: {
      protocol: PROTOCOLS.coinbase,
      root: streams.coinbaseWsUrl,
      history: coinbaseHistory({ baseUrl: scraper.coinbaseBaseUrl, timeoutMs }),
      perMinute: scraper.coinbaseRateLimitPerMin,
    },
    kraken: {
      protocol: PROTOCOLS.kraken,
      root: streams.krakenWsUrl,
      history: krakenHistory({ baseUrl: scraper.krakenBaseUrl, timeoutMs }),
      perMinute: scraper.krakenRateLimitPerMin,
    },
  };
  return parts[venue];
}

/**
 * Starts one `VenueStream` per venue in `STREAM_VENUES` on the caller's bus and cache, all
 * publishing through one bounded buffer: when it fills, every venue stops reading, and a venue
 * paused past `STREAM_STALL_DROP_MS` drops its connection (the missed trades are fetched back or
 * recorded as gaps). Each market resumes where the last run (of any replica) left it: the marks
 * the replicas share in the cache, else the lake (`adapters.lake`, read-only), so that what traded
 * while no reader ran is fetched back, or recorded as a gap of cause `restart`. Every second each
 * market's mark is shared once the bus holds what it covers. Several replicas may read the same
 * venues: the lake keeps each trade once, and a replica does not fetch back what another already
 * published. Returns `undefined` when no venue is configured.
 */
export async function startStreams(
  adapters: Pick<Adapters, 'bus' | 'cache'> & { lake?: Adapters['lake'] | undefined },
  streams: StreamsConfig,
  scraper: ScraperConfig,
  log: Logger,
  metrics: Metrics,
  /** This replica's name in the shared status and marks. Default `<host>-<pid>`. */
  instance = `${hostname()}-${process.pid}`,
): Promise<Streams | undefined> {
  // The schema checked every name against VENUES.
  const venues = [...new Set(streams.streamVenues ?? [])] as Venue[];
  if (venues.length === 0) return undefined;
  const streamLog = log.child({ component: 'streams' });
  const board = new StatusBoard(adapters.cache);
  const checkpoints = new StreamCheckpoints(adapters.cache, instance, scraper.tradesTopic);
  const markets = venues.flatMap((venue) => streams.streamSymbols.map((symbol) => ({ venue, market: PROTOCOLS[venue].market(symbol) })));
  const starts = await findStartPoints(markets, {
    checkpoints,
    lake: adapters.lake,
    lookbackMs: streams.streamRestartLookbackMs,
    log: streamLog,
  });
  let paused = false;
  const list: VenueStream[] = [];
  const publisher = new BoundedPublisher({
    bus: adapters.bus,
    log: streamLog,
    maxBuffered: streams.streamBufferMaxMessages,
    onPressure(high) {
      paused = high;
      streamLog.info({ buffered: publisher.buffered }, high ? 'The bus is behind; pausing the streams' : 'Resuming the streams');
      for (const stream of list) stream.setPaused(high);
    },
  });
  for (const venue of venues) {
    const parts = venueParts(venue, streams, scraper);
    const start = new Map<string, StartPoint>();
    for (const { market } of markets.filter((item) => item.venue === venue)) {
      const point = starts.get(marketKey(venue, market));
      if (point) start.set(market, point);
    }
    list.push(
      new VenueStream({
        protocol: parts.protocol,
        history: parts.history,
        limiter: new RateLimiter(venue, adapters.cache, { limit: parts.perMinute, windowMs: 60_000 }),
        root: parts.root,
        symbols: streams.streamSymbols,
        timing: {
          pingIntervalMs: streams.streamPingIntervalMs,
          idleTimeoutMs: streams.streamIdleTimeoutMs,
          maxAgeMs: streams.streamMaxConnectionAgeMs,
          reconnectMinMs: streams.streamReconnectMinMs,
          reconnectMaxMs: streams.streamReconnectMaxMs,
        },
        topics: { trades: scraper.tradesTopic, gaps: scraper.gapsTopic, prices: scraper.kafkaTopic, deadLetter: scraper.deadLetterTopic },
        publish: (messages) => publisher.offer(messages),
        waitForRoom: () => publisher.waitForRoom(),
        reorderWindowMs: streams.streamReorderWindowMs,
        refill: {
          retries: streams.streamRefillRetries,
          maxTrades: streams.streamRefillMaxTrades,
          rateLimitedPauseMs: scraper.rateLimitedPauseMs,
        },
        tickerIntervalMs: streams.streamTickerIntervalMs,
        start,
        checkpoints,
        log: streamLog,
      }),
    );
  }

  const buffered = streamMetrics(metrics).buffered;
  const reportVenue = streamReporter(metrics);
  const status = (): StreamsStatus => ({
    part: 'streams',
    instance,
    updatedAt: Date.now(),
    venues: list.map((stream) => stream.status(publisher.buffered, paused)),
  });
  const report = () => {
    const current = status();
    buffered.set(publisher.buffered);
    for (const venue of current.venues) reportVenue(venue);
    void board.publish('streams', current);
  };
  const keeper = new MarkKeeper({
    checkpoints,
    publisher,
    sources: list.map((stream) => ({ venue: stream.venue, marks: () => stream.marks() })),
    log: streamLog,
  });
  const timers = [
    setInterval(report, STATUS_INTERVAL_MS),
    setInterval(() => void keeper.tick(), MARK_INTERVAL_MS),
    setInterval(() => {
      for (const stream of list) stream.checkStall(streams.streamStallDropMs);
    }, 1_000),
  ];
  for (const stream of list) stream.start();
  streamLog.info({ venues, symbols: streams.streamSymbols }, 'Trade streams started');

  return {
    status,
    async settled() {
      await Promise.all(list.map((stream) => stream.settled()));
      await publisher.drained();
    },
    async stop(timeoutMs = 10_000) {
      for (const timer of timers) clearInterval(timer);
      await Promise.all(list.map((stream) => stream.stop()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([publisher.drained(), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      // Every hole was refilled or recorded: the marks now say where the next run resumes.
      await keeper.tick();
      report();
      const lost = publisher.close();
      if (lost > 0) streamLog.error({ lost }, 'Stopped with stream messages the bus never took');
    },
  };
}

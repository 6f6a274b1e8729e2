import { messageOf } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { deadLetter } from '../../core/records/dead-letter.ts';
import { gapId, type Gap } from '../../core/records/gap.ts';
import { toPriceRecord, validatePrice } from '../../core/records/price.ts';
import type { VenueStreamStatus } from '../../core/records/status.ts';
import { tradeId, validateTrade, type Trade } from '../../core/records/trade.ts';
import type { RateLimiter } from '../rate-limiter.ts';
import type { Outbound } from './bounded-publisher.ts';
import type { StreamCheckpoints, TradeMark } from './checkpoints.ts';
import { VenueConnection, type ConnectionTiming } from './connection.ts';
import { refillHole } from './refill.ts';
import { TradeSequence, type Hole } from './sequence.ts';
import type { StartPoint } from './start-points.ts';
import type { StreamProtocol, TradeHistory, VenueTicker, VenueTrade } from './venues/venue.ts';

/** The topics a venue stream publishes to. */
export interface StreamTopics {
  trades: string;
  gaps: string;
  prices: string;
  deadLetter: string;
}

export interface VenueStreamOptions {
  protocol: StreamProtocol;
  history: TradeHistory;
  limiter: Pick<RateLimiter, 'take' | 'pauseFor'>;
  /** The WebSocket root of the venue. */
  root: string;
  symbols: readonly string[];
  timing: ConnectionTiming;
  topics: StreamTopics;
  /** Where messages go; `waitForRoom` holds refills back while the bus is behind. */
  publish: (messages: Outbound[]) => void;
  waitForRoom: () => Promise<void>;
  reorderWindowMs: number;
  refill: { retries: number; maxTrades: number; rateLimitedPauseMs: number };
  tickerIntervalMs: number;
  /** Where each market resumes (by market name): after the mark the last run left, with the holes it left open. */
  start?: ReadonlyMap<string, StartPoint>;
  /** The marks every replica shared: a hole up to another's mark is on the bus already and is not fetched again. */
  checkpoints?: Pick<StreamCheckpoints, 'load'>;
  log: Logger;
  now?: () => number;
}

type Counters = Pick<
  VenueStreamStatus,
  | 'tradesReceived'
  | 'tickersReceived'
  | 'duplicatesDropped'
  | 'malformedFrames'
  | 'tradesMissed'
  | 'tradesRefilled'
  | 'tradesCoveredByReplicas'
  | 'gapsRecorded'
  | 'lastTradeAt'
  | 'lastError'
  | 'lastErrorAt'
>;

/**
 * One venue's trades and tickers: a kept-open connection for all its markets, the id sequence of
 * each market (duplicates dropped, holes found), the refill of every hole from the venue's REST
 * history once late trades had `reorderWindowMs` to arrive, and a `Gap` record for whatever REST
 * could not give back. Trades go out keyed by `venue:market`, so one market stays in order.
 */
export class VenueStream {
  private readonly connection: VenueConnection;
  private readonly sequences = new Map<string, TradeSequence>();
  private readonly symbolOf = new Map<string, string>();
  /** Per market, the interval (of `tickerIntervalMs`) of the last ticker published. */
  private readonly lastTickerSlot = new Map<string, number>();
  /** Per market, the holes handed to REST and not finished: the mark cannot pass them. */
  private readonly refillingHoles = new Map<string, Set<Hole>>();
  private readonly counters: Counters = {
    tradesReceived: 0,
    tickersReceived: 0,
    duplicatesDropped: 0,
    malformedFrames: 0,
    tradesMissed: 0,
    tradesRefilled: 0,
    tradesCoveredByReplicas: 0,
    gapsRecorded: 0,
    lastTradeAt: null,
    lastError: null,
    lastErrorAt: null,
  };
  private readonly abort = new AbortController();
  private refillTimer: NodeJS.Timeout | undefined;
  private refilling: Promise<void> = Promise.resolve();
  private pausedSince: number | undefined;
  /** Markets the connection replacing the current one (a rotation) has delivered trades of. */
  private provenOnReplacement: { id: number; markets: Set<string> } | undefined;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly options: VenueStreamOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log.child({ venue: options.protocol.venue });
    for (const symbol of options.symbols) {
      const market = options.protocol.market(symbol);
      this.symbolOf.set(market, symbol);
      const start = options.start?.get(market);
      this.sequences.set(market, new TradeSequence(start && { ...start, at: this.now() }));
      this.refillingHoles.set(market, new Set());
    }
    const markets = this.markets;
    this.connection = new VenueConnection({
      ...options.timing,
      venue: options.protocol.venue,
      url: options.protocol.url(options.root, markets),
      subscribe: options.protocol.subscribe(markets),
      ...(options.protocol.keepalive ? { keepalive: options.protocol.keepalive } : {}),
      log: this.log,
      onMessage: (text, replacement) => this.handle(text, replacement),
      onDown: (reason) => this.down(reason, 'reconnect'),
      onUp: () => this.log.info({ markets }, 'Stream connected'),
    });
  }

  get venue(): string {
    return this.options.protocol.venue;
  }

  get markets(): string[] {
    return [...this.symbolOf.keys()];
  }

  start(): void {
    this.connection.start();
    this.refillTimer = setInterval(() => this.takeDueHoles(), Math.max(50, this.options.reorderWindowMs / 2));
  }

  /** Reading stops (the bus is behind) or goes on. Paused past `stallDropMs`, `checkStall` drops the connection. */
  setPaused(paused: boolean): void {
    if (paused) {
      this.pausedSince ??= this.now();
      this.connection.pause();
    } else {
      this.pausedSince = undefined;
      this.connection.resume();
    }
  }

  /** Drops the connection when reading was paused for longer than `stallDropMs`; what it misses becomes holes. */
  checkStall(stallDropMs: number): void {
    if (this.pausedSince === undefined || this.now() - this.pausedSince < stallDropMs) return;
    this.pausedSince = this.now();
    this.connection.drop();
    this.down(`dropped: the bus could not keep up for ${stallDropMs} ms`, 'backpressure');
  }

  /**
   * Stops reading and hands the open holes to REST one last time; refills still running after
   * `graceMs` are aborted, and what they did not get back is recorded as gaps.
   */
  async stop(graceMs = 5_000): Promise<void> {
    clearInterval(this.refillTimer);
    await this.connection.stop();
    this.takeDueHoles(Infinity);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.refilling, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.abort.abort();
    await this.refilling;
  }

  status(buffered: number, paused: boolean): VenueStreamStatus {
    return {
      venue: this.options.protocol.venue,
      markets: this.markets,
      connected: this.connection.connected,
      connections: this.connection.connections,
      buffered,
      paused,
      ...this.counters,
    };
  }

  /** Resolves when every hole taken so far was refilled or recorded. */
  settled(): Promise<void> {
    return this.refilling;
  }

  /**
   * Per market, how far its trades were handed on without a hole: every id up to the mark was
   * offered for publishing, recorded as a gap, or was already on the bus when this run started.
   * A hole still open or being fetched back holds the mark just before it.
   */
  marks(): Map<string, TradeMark> {
    const marks = new Map<string, TradeMark>();
    for (const [market, sequence] of this.sequences) {
      const newest = sequence.newest;
      if (!newest) continue;
      let oldest: Hole | undefined;
      for (const hole of [...sequence.open, ...this.refillingHoles.get(market)!]) if (!oldest || hole.first < oldest.first) oldest = hole;
      marks.set(market, oldest ? { tradeId: oldest.first - 1, ts: oldest.fromTs } : newest);
    }
    return marks;
  }

  private handle(text: string, replacement?: number): void {
    let frame;
    try {
      frame = this.options.protocol.parse(text);
    } catch (error) {
      this.reject(`malformed frame: ${messageOf(error)}`, text);
      return;
    }
    if (frame.error) this.noteError(`the venue said: ${frame.error}`);
    const out: Outbound[] = [];
    const now = this.now();
    for (const trade of frame.trades) {
      const sequence = this.sequences.get(trade.market);
      if (!sequence) {
        this.reject(`trade of a market not subscribed: ${trade.market}`, text);
        continue;
      }
      this.counters.tradesReceived += 1;
      if (replacement !== undefined) this.proveReplacement(replacement, trade.market);
      if (sequence.accept(trade.tradeId, trade.ts, now) === 'duplicate') {
        this.counters.duplicatesDropped += 1;
        continue;
      }
      this.counters.lastTradeAt = trade.ts;
      const message = this.tradeMessage(trade, 'stream', now, text);
      if (message) out.push(message);
    }
    for (const ticker of frame.tickers) {
      const message = this.tickerMessage(ticker, now);
      if (message) out.push(message);
    }
    this.options.publish(out);
  }

  /** The replacement is promoted once it has delivered a trade of every market: its subscriptions are all live. */
  private proveReplacement(id: number, market: string): void {
    if (this.provenOnReplacement?.id !== id) this.provenOnReplacement = { id, markets: new Set() };
    this.provenOnReplacement.markets.add(market);
    if (this.provenOnReplacement.markets.size === this.symbolOf.size) {
      this.provenOnReplacement = undefined;
      this.connection.promote();
    }
  }

  private tradeMessage(trade: VenueTrade, via: Trade['via'], now: number, raw: unknown): Outbound | undefined {
    const venue = this.options.protocol.venue;
    const record = {
      id: tradeId(venue, trade.market, trade.tradeId),
      ts: trade.ts,
      symbol: this.symbolOf.get(trade.market),
      venue,
      market: trade.market,
      price: trade.price,
      qty: trade.qty,
      side: trade.side,
      trade_id: trade.tradeId,
      via,
      ingested_at: now,
    };
    const valid = validateTrade(record);
    if (!valid.ok) {
      this.reject(`invalid trade: ${valid.reason}`, raw);
      return undefined;
    }
    return { topic: this.options.topics.trades, key: `${venue}:${trade.market}`, value: JSON.stringify(valid.value) };
  }

  /**
   * At most one price record per market and interval of `tickerIntervalMs` (of the venue's time, else
   * of receipt), under the source `<venue>-stream`, stamped at the interval's start: replicas reading
   * the same venue publish the same record id for an interval, which the lake keeps once.
   */
  private tickerMessage(ticker: VenueTicker, now: number): Outbound | undefined {
    const symbol = this.symbolOf.get(ticker.market);
    if (!symbol) return undefined;
    this.counters.tickersReceived += 1;
    const interval = this.options.tickerIntervalMs;
    const slot = Math.floor((ticker.ts ?? now) / interval);
    if (slot <= (this.lastTickerSlot.get(ticker.market) ?? -Infinity)) return undefined;
    this.lastTickerSlot.set(ticker.market, slot);
    const source = `${this.options.protocol.venue}-stream`;
    const record = toPriceRecord(
      {
        source,
        symbol,
        ts: slot * interval,
        price_usd: ticker.price,
        volume_24h_usd: ticker.quoteVolume24h,
        change_24h_pct: ticker.change24hPct,
      },
      now,
    );
    const valid = validatePrice(record);
    if (!valid.ok) {
      this.reject(`invalid ticker: ${valid.reason}`, ticker);
      return undefined;
    }
    return { topic: this.options.topics.prices, key: symbol, value: JSON.stringify(valid.value) };
  }

  /** A connection ended (it failed, or it was dropped): the next hole of every market is blamed on `cause`. */
  private down(reason: string, cause: Gap['cause']): void {
    this.noteError(reason);
    this.log.warn({ reason }, 'Stream connection lost; reconnecting (missed trades are fetched back)');
    for (const sequence of this.sequences.values()) sequence.expectHole(cause);
  }

  /** Hands the holes older than the reorder window (all of them with `Infinity`) to the refill chain. */
  private takeDueHoles(window = this.options.reorderWindowMs): void {
    const openedBy = window === Infinity ? Infinity : this.now() - window;
    for (const [market, sequence] of this.sequences) {
      for (const hole of sequence.takeHoles(openedBy)) {
        const refilling = this.refillingHoles.get(market)!;
        refilling.add(hole);
        this.refilling = this.refilling.then(() => this.refill(market, hole).finally(() => refilling.delete(hole)));
      }
    }
  }

  /** What of `hole` no replica has published yet (by the marks they shared), or `undefined` when it is all on the bus. */
  private async uncovered(market: string, hole: Hole): Promise<Hole | undefined> {
    const shared = await this.options.checkpoints?.load(this.options.protocol.venue, market);
    if (!shared || shared.tradeId < hole.first) return hole;
    this.counters.tradesCoveredByReplicas += Math.min(shared.tradeId, hole.last) - hole.first + 1;
    if (shared.tradeId >= hole.last) return undefined;
    return { ...hole, first: shared.tradeId + 1, fromTs: Math.max(hole.fromTs, shared.ts) };
  }

  private async refill(market: string, taken: Hole): Promise<void> {
    const { options } = this;
    const hole = await this.uncovered(market, taken);
    if (!hole) return;
    this.counters.tradesMissed += hole.last - hole.first + 1;
    try {
      const result = await refillHole(
        { market, first: hole.first, last: hole.last, fromTs: hole.fromTs, toTs: hole.toTs },
        {
          history: options.history,
          limiter: options.limiter,
          ...options.refill,
          maxBudgetWaitMs: 60_000,
          signal: this.abort.signal,
          onTrades: async (trades) => {
            await options.waitForRoom();
            const now = this.now();
            options.publish(trades.flatMap((trade) => this.tradeMessage(trade, 'rest', now, trade) ?? []));
          },
        },
      );
      this.counters.tradesRefilled += result.refilled;
      if (result.missing.length > 0) this.recordGaps(market, hole, result.missing, result.reason);
      this.log.info(
        { market, first: hole.first, last: hole.last, refilled: result.refilled, cause: hole.cause },
        'Refilled a hole in the trade stream',
      );
    } catch (error) {
      this.recordGaps(market, hole, [{ first: hole.first, last: hole.last }], `refill failed: ${messageOf(error)}`);
    }
  }

  private recordGaps(market: string, hole: Hole, runs: { first: number; last: number }[], reason: string): void {
    const venue = this.options.protocol.venue;
    const symbol = this.symbolOf.get(market)!;
    const detectedAt = this.now();
    const gaps: Gap[] = runs.map((run) => ({
      id: gapId(venue, market, run.first, run.last),
      venue,
      market,
      symbol,
      first_trade_id: run.first,
      last_trade_id: run.last,
      missing: run.last - run.first + 1,
      from_ts: hole.fromTs,
      to_ts: hole.toTs,
      cause: hole.cause,
      reason,
      detected_at: detectedAt,
    }));
    this.counters.gapsRecorded += gaps.length;
    const missing = gaps.reduce((sum, gap) => sum + gap.missing, 0);
    this.log.warn({ market, gaps: gaps.length, missing, reason }, 'Recorded trades that could not be fetched back as gaps');
    this.options.publish(gaps.map((gap) => ({ topic: this.options.topics.gaps, key: `${venue}:${market}`, value: JSON.stringify(gap) })));
  }

  private reject(reason: string, payload: unknown): void {
    this.counters.malformedFrames += 1;
    this.noteError(reason);
    const letter = deadLetter({ at: this.now(), stage: 'scraper', source: `${this.options.protocol.venue}-stream`, reason, payload });
    this.options.publish([{ topic: this.options.topics.deadLetter, key: letter.source, value: JSON.stringify(letter) }]);
  }

  private noteError(message: string): void {
    this.counters.lastError = message.slice(0, 500);
    this.counters.lastErrorAt = this.now();
  }
}

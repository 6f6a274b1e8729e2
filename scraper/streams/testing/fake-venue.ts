import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { binanceProtocol } from './fake-binance.ts';
import { coinbaseProtocol } from './fake-coinbase.ts';
import { krakenProtocol } from './fake-kraken.ts';

/** The exchanges a fake venue can play. */
export type FakeVenueName = 'binance' | 'coinbase' | 'kraken';

/** How a fake venue trades and which faults it injects. Every field but `venue` and `markets` has a default. */
export interface FakeVenueOptions {
  venue: FakeVenueName;
  /** Markets in the venue's own names: binance 'BTCUSDT', coinbase 'BTC-USD', kraken 'BTC/USD'. */
  markets: string[];
  /** Trades per second per market that the venue makes (0 = none until `emit`). Default 0. */
  tradesPerSecond?: number;
  /** First trade id of every market. Default 1. */
  firstTradeId?: number;
  /** How many of the newest trades per market REST history keeps (older ones are gone). Default 1_000_000. */
  historyLimit?: number;
  /** Chance per trade that the stream sends it twice (a venue duplicate). Default 0. */
  duplicateRate?: number;
  /** Chance per trade that the stream swaps it with the next one (out of order). Default 0. */
  reorderRate?: number;
  /** Max REST requests per second before answering 429 (venue's documented error body). Default unlimited. */
  restRequestsPerSecond?: number;
  /** Seed of the price random walk and the faults, for repeatable runs. Default 1. */
  seed?: number;
  /**
   * Interval of the venue's protocol pings/heartbeats in ms (binance: ws ping frames; kraken: heartbeat
   * messages; coinbase: its `heartbeat` channel). Default binance 20000, kraken and coinbase 1000.
   */
  pingIntervalMs?: number;
  /** Coinbase only: close connections that have not subscribed within this many ms. Default 5000. */
  subscribeTimeoutMs?: number;
}

/** One trade as the venue made it: the ground truth tests compare a reader's output with. */
export interface FakeTrade {
  tradeId: number;
  ts: number;
  price: number;
  qty: number;
  takerSide: 'buy' | 'sell';
}

/** A running fake venue: one local HTTP + WebSocket server speaking one exchange's protocol. */
export interface FakeVenue {
  venue: FakeVenueName;
  /** ws://127.0.0.1:<port> root (the reader appends the venue's path: binance `/stream?streams=...`, coinbase `/`, kraken `/v2`). */
  wsUrl: string;
  /** http://127.0.0.1:<port> root of the REST API (the same server and port). */
  restUrl: string;
  /** Makes `count` trades now on `market` (stream + history), returns their ids. */
  emit(market: string, count: number): number[];
  /** Every trade made so far on `market`, in id order (the ground truth; ids burned by `skipForever` are not trades). */
  trades(market: string): FakeTrade[];
  /** Trades handed to the stream of `market` (duplicates counted once; skipped and silenced trades not at all). */
  streamed(market: string): number;
  /** Destroys every open client socket abruptly (TCP reset, no close frame). */
  killConnections(): void;
  /** Keeps sockets open but stops sending anything, reading client messages and answering pings (half-open), until `heal()`. */
  goSilent(): void;
  heal(): void;
  /** Sends one malformed frame (not JSON, or JSON of the wrong shape) to every client. */
  sendMalformed(kind: 'not-json' | 'wrong-shape'): void;
  /** The next `count` trades of `market` are made (and kept in REST history) but not streamed: a gap REST can fill. */
  skipStream(market: string, count: number): void;
  /** The next `count` trade ids of `market` are burned: neither streamed nor in REST history: a gap REST cannot fill. */
  skipForever(market: string, count: number): void;
  /** Changes the automatic trade generation (0 pauses it). */
  setRate(tradesPerSecond: number): void;
  /**
   * Open client connections now, connections ever accepted, REST requests received (429s included),
   * REST requests refused with the venue's rate-limit answer, clients dropped as slow consumers.
   */
  stats(): { openConnections: number; connectionsAccepted: number; restRequests: number; rest429: number; slowConsumers: number };
  close(): Promise<void>;
}

/** A trade as the stream carries it: the trade plus the venue's message sequence number of its market. */
export interface StreamTrade extends FakeTrade {
  sequence: number;
}

/** A trade read back from REST history, with a nanosecond stamp unique within its market (Kraken pages by it). */
export interface HistoryTrade extends FakeTrade {
  tsNs: bigint;
}

/** The REST history of one market: the trades still kept are the indexes `start` (oldest kept) to `end` (exclusive). */
export interface TradeHistory {
  readonly start: number;
  readonly end: number;
  at(index: number): HistoryTrade;
  /** Index of the first kept trade whose id is >= `tradeId` (`end` if none). */
  indexOfId(tradeId: number): number;
  /** Index of the first kept trade stamped strictly after `tsNs` (`end` if none). */
  indexAfterNs(tsNs: bigint): number;
}

/** One market as the protocols see it: its history, its running ticker (since start) and its message sequence. */
export interface MarketBook {
  readonly name: string;
  readonly history: TradeHistory;
  /** The last trade's price, or the starting price before any trade. */
  readonly price: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  /** Base and quote volume of every trade made so far (the fake's "24 h"). */
  readonly volume: number;
  readonly quoteVolume: number;
  readonly last: StreamTrade | undefined;
  /** Per-market message counter: each trade made takes the next number, streamed or not; protocols may take more. */
  sequence: number;
}

/** A connected client as a protocol sees it. `state` is the protocol's own (its subscriptions). */
export interface VenueClient<S> {
  readonly id: number;
  readonly openedAt: number;
  /** When the client last answered a ping frame (its connect time before that). */
  lastPongAt: number;
  state: S;
}

/** What the engine lends a protocol: the clients, a way to reach them, the markets. */
export interface VenueContext<S> {
  readonly markets: readonly string[];
  readonly pingIntervalMs: number;
  readonly subscribeTimeoutMs: number;
  clients(): Iterable<VenueClient<S>>;
  market(name: string): MarketBook | undefined;
  /** Sends a text frame; does nothing while the venue is silent or once the client is closing. */
  send(client: VenueClient<S>, text: string): void;
  /** Sends a ws ping frame (not while silent). */
  ping(client: VenueClient<S>): void;
  /** Closes with a close frame, then destroys the socket if the client does not answer within 1 s (not while silent). */
  close(client: VenueClient<S>, code: number, reason: string): void;
  /** Destroys the socket without a close frame, as a venue does to a client that stopped answering (not while silent). */
  drop(client: VenueClient<S>): void;
}

/** An HTTP answer; an object body is sent as JSON. */
export interface RestAnswer {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** One exchange's wire protocol: which upgrades it takes, how it subscribes, streams and answers REST. */
export interface VenueProtocol<S> {
  /** Takes an upgrade request (its state for the new client) or refuses it with an HTTP status. */
  admit(url: URL): { state: S } | { status: number; body: string };
  opened(client: VenueClient<S>): void;
  received(client: VenueClient<S>, text: string): void;
  /** Sends trades of one market, already in wire order (duplicates and swaps applied). */
  stream(market: MarketBook, trades: readonly StreamTrade[]): void;
  /** Called about every 10 ms, not while silent: tickers, heartbeats, pings, timeouts. */
  tick(now: number): void;
  rest(url: URL): RestAnswer;
  tooManyRequests(): RestAnswer;
  malformed(kind: 'not-json' | 'wrong-shape'): string;
}

/** Builds a venue's protocol over the engine's context. */
export type ProtocolFactory<S> = (context: VenueContext<S>) => VenueProtocol<S>;

/** ISO time with microseconds, as Coinbase and Kraken stamp trades: `2026-11-22T10:00:00.123000Z`. */
export function isoMicros(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}000Z`;
}

/**
 * Starts a fake venue on 127.0.0.1 and a free port: REST and WebSocket on one server, playing `options.venue`'s
 * documented messages. Trades come from a timer every ~10 ms (`tradesPerSecond`) and from `emit`; the fault
 * methods inject what real venues do: drops, half-open sockets, malformed frames, holes, duplicates, 429s.
 */
export function startFakeVenue(options: FakeVenueOptions): Promise<FakeVenue> {
  switch (options.venue) {
    case 'binance':
      return startEngine(options, 20_000, binanceProtocol);
    case 'coinbase':
      return startEngine(options, 1_000, coinbaseProtocol);
    case 'kraken':
      return startEngine(options, 1_000, krakenProtocol);
  }
}

const TICK_MS = 10;
// Real venues drop a client that cannot keep up; a short burst (a test's large `emit`) is let through.
const SLOW_CONSUMER_BYTES = 8 * 1024 * 1024;
const SLOW_CONSUMER_GRACE_MS = 1_000;

interface Client<S> extends VenueClient<S> {
  ws: WebSocket;
  socket: Socket;
  closing: boolean;
  overLimitSince: number | undefined;
}

async function startEngine<S>(options: FakeVenueOptions, defaultPingMs: number, factory: ProtocolFactory<S>): Promise<FakeVenue> {
  const settings = checkOptions(options);
  const markets = new Map(
    options.markets.map((name) => [name, new FakeMarket(name, settings.seed, settings.firstTradeId, settings.historyLimit)]),
  );
  const clients = new Set<Client<S>>();
  const counts = { connectionsAccepted: 0, restRequests: 0, rest429: 0, slowConsumers: 0 };
  let silent = false;
  let rate = settings.tradesPerSecond;
  let due = 0;
  let lastTickAt = Date.now();
  const restWindow = { second: 0, used: 0 };

  const need = (name: string): FakeMarket => {
    const market = markets.get(name);
    if (!market) throw new Error(`fake ${options.venue}: unknown market ${name} (known: ${options.markets.join(', ')})`);
    return market;
  };
  const close = (client: Client<S>, code: number, reason: string) => {
    if (client.closing) return;
    client.closing = true;
    client.ws.close(code, reason);
    setTimeout(() => client.socket.destroy(), 1_000).unref();
  };
  const context: VenueContext<S> = {
    markets: options.markets,
    pingIntervalMs: options.pingIntervalMs ?? defaultPingMs,
    subscribeTimeoutMs: options.subscribeTimeoutMs ?? 5_000,
    clients: () => clients,
    market: (name) => markets.get(name),
    send: (client, text) => {
      const c = client as Client<S>;
      if (!silent && !c.closing && c.ws.readyState === WebSocket.OPEN) c.ws.send(text);
    },
    ping: (client) => {
      const c = client as Client<S>;
      if (!silent && !c.closing && c.ws.readyState === WebSocket.OPEN) c.ws.ping();
    },
    close: (client, code, reason) => {
      if (!silent) close(client as Client<S>, code, reason);
    },
    drop: (client) => {
      if (!silent) (client as Client<S>).socket.destroy();
    },
  };
  const protocol = factory(context);

  // Corks every socket around a burst of sends so that one tick's frames leave in one write per client.
  const corked = (send: () => void) => {
    for (const client of clients) client.socket.cork();
    try {
      send();
    } finally {
      for (const client of clients) client.socket.uncork();
    }
  };
  const dropSlowConsumers = (now: number) => {
    for (const client of clients) {
      if (client.closing || client.ws.bufferedAmount <= SLOW_CONSUMER_BYTES) {
        client.overLimitSince = undefined;
      } else if (client.overLimitSince === undefined) {
        client.overLimitSince = now;
      } else if (now - client.overLimitSince >= SLOW_CONSUMER_GRACE_MS) {
        counts.slowConsumers += 1;
        close(client, 1008, 'slow consumer');
      }
    }
  };
  const produce = (market: FakeMarket, count: number, now: number): StreamTrade[] => {
    const made: StreamTrade[] = [];
    const wire: StreamTrade[] = [];
    for (let i = 0; i < count; i++) {
      const trade = market.make(now);
      made.push(trade);
      if (market.skipStreamLeft > 0) market.skipStreamLeft -= 1;
      else if (!silent) wire.push(trade);
    }
    market.streamed += wire.length;
    if (wire.length > 0) {
      const ordered = withFaults(wire, market.faultRandom, settings.duplicateRate, settings.reorderRate);
      corked(() => protocol.stream(market, ordered));
    }
    return made;
  };
  const tick = () => {
    const now = Date.now();
    // Trades due by the clock, not by tick count: timer jitter does not change the rate.
    due += (rate * Math.min(now - lastTickAt, 1_000)) / 1_000;
    lastTickAt = now;
    const count = Math.floor(due);
    due -= count;
    if (count > 0) for (const market of markets.values()) produce(market, count, now);
    dropSlowConsumers(now);
    if (!silent) corked(() => protocol.tick(now));
  };
  const timer = setInterval(tick, TICK_MS);
  timer.unref();

  const answerRest = (req: IncomingMessage, res: ServerResponse) => {
    counts.restRequests += 1;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const second = Math.floor(Date.now() / 1_000);
    if (restWindow.second !== second) Object.assign(restWindow, { second, used: 0 });
    let answer: RestAnswer;
    if (restWindow.used >= settings.restRequestsPerSecond) {
      counts.rest429 += 1;
      answer = protocol.tooManyRequests();
    } else {
      restWindow.used += 1;
      answer = protocol.rest(url);
    }
    const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(body);
  };
  const server = createServer(answerRest);
  const wss = new WebSocketServer({ noServer: true, autoPong: false, clientTracking: false, maxPayload: 1024 * 1024 });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => undefined);
    const verdict = protocol.admit(new URL(req.url ?? '/', 'http://127.0.0.1'));
    if ('status' in verdict) {
      const status = `${verdict.status} ${STATUS_CODES[verdict.status] ?? ''}`;
      socket.end(
        `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(verdict.body)}\r\n\r\n${verdict.body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const now = Date.now();
      counts.connectionsAccepted += 1;
      const client: Client<S> = {
        id: counts.connectionsAccepted,
        openedAt: now,
        lastPongAt: now,
        state: verdict.state,
        ws,
        socket,
        closing: false,
        overLimitSince: undefined,
      };
      clients.add(client);
      ws.on('message', (data: Buffer) => {
        if (!silent) protocol.received(client, data.toString());
      });
      ws.on('ping', (data) => {
        if (!silent) ws.pong(data);
      });
      ws.on('pong', () => {
        client.lastPongAt = Date.now();
      });
      ws.on('close', () => clients.delete(client));
      ws.on('error', () => undefined);
      protocol.opened(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    venue: options.venue,
    wsUrl: `ws://127.0.0.1:${port}`,
    restUrl: `http://127.0.0.1:${port}`,
    emit: (market, count) => produce(need(market), count, Date.now()).map((trade) => trade.tradeId),
    trades: (market) => need(market).all(),
    streamed: (market) => need(market).streamed,
    killConnections: () => {
      for (const client of clients) client.socket.resetAndDestroy();
      clients.clear();
    },
    goSilent: () => {
      silent = true;
    },
    heal: () => {
      silent = false;
      // Pongs that could not come while silent must not count against a client.
      for (const client of clients) client.lastPongAt = Date.now();
    },
    sendMalformed: (kind) => {
      const text = protocol.malformed(kind);
      for (const client of clients) context.send(client, text);
    },
    skipStream: (market, count) => {
      need(market).skipStreamLeft += count;
    },
    skipForever: (market, count) => need(market).burn(count),
    setRate: (tradesPerSecond) => {
      rate = Math.max(0, tradesPerSecond);
    },
    stats: () => ({ openConnections: clients.size, ...counts }),
    close: async () => {
      clearInterval(timer);
      for (const client of clients) client.socket.destroy();
      clients.clear();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function checkOptions(options: FakeVenueOptions) {
  const settings = {
    tradesPerSecond: options.tradesPerSecond ?? 0,
    firstTradeId: options.firstTradeId ?? 1,
    historyLimit: options.historyLimit ?? 1_000_000,
    duplicateRate: options.duplicateRate ?? 0,
    reorderRate: options.reorderRate ?? 0,
    restRequestsPerSecond: options.restRequestsPerSecond ?? Number.POSITIVE_INFINITY,
    seed: options.seed ?? 1,
  };
  const problems = [
    options.markets.length === 0 && 'markets: at least one is needed',
    new Set(options.markets).size !== options.markets.length && 'markets: names repeat',
    !(settings.tradesPerSecond >= 0) && 'tradesPerSecond: expected >= 0',
    !Number.isSafeInteger(settings.firstTradeId) && 'firstTradeId: expected an integer',
    !(settings.historyLimit >= 0) && 'historyLimit: expected >= 0',
    !(settings.duplicateRate >= 0 && settings.duplicateRate <= 1) && 'duplicateRate: expected 0..1',
    !(settings.reorderRate >= 0 && settings.reorderRate <= 1) && 'reorderRate: expected 0..1',
  ].filter((problem) => typeof problem === 'string');
  if (problems.length > 0) throw new Error(`fake ${options.venue}: invalid options: ${problems.join('; ')}`);
  return settings;
}

/** Puts trades in wire order: each may be swapped with the next one of the batch, each may go twice. */
function withFaults(trades: StreamTrade[], random: () => number, duplicateRate: number, reorderRate: number): StreamTrade[] {
  if (duplicateRate === 0 && reorderRate === 0) return trades;
  const out: StreamTrade[] = [];
  const put = (trade: StreamTrade) => {
    out.push(trade);
    if (random() < duplicateRate) out.push(trade);
  };
  for (let i = 0; i < trades.length; i++) {
    const trade = trades[i] as StreamTrade;
    const next = trades[i + 1];
    if (next !== undefined && random() < reorderRate) {
      put(next);
      i += 1;
    }
    put(trade);
  }
  return out;
}

/** mulberry32: a small seeded generator, so runs with one seed repeat. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const round = (value: number, decimals: number) => Math.round(value * 10 ** decimals) / 10 ** decimals;

/**
 * One market's trades in typed-array columns (~45 bytes a trade, so a long benchmark fits in memory), its price
 * walk and running ticker. Every trade is kept for `all()`; REST history is the newest `historyLimit` of them.
 */
class FakeMarket implements MarketBook, TradeHistory {
  readonly history: TradeHistory = this;
  readonly faultRandom: () => number;
  sequence = 0;
  streamed = 0;
  skipStreamLeft = 0;
  price: number;
  open: number;
  high: number;
  low: number;
  volume = 0;
  quoteVolume = 0;
  last: StreamTrade | undefined;
  private size = 0;
  private ids = new Float64Array(1024);
  private times = new Float64Array(1024);
  private subMs = new Uint32Array(1024);
  private prices = new Float64Array(1024);
  private qtys = new Float64Array(1024);
  private sells = new Uint8Array(1024);
  private nextId: number;
  private walk = 0;
  private readonly base: number;
  private readonly priceRandom: () => number;

  constructor(
    readonly name: string,
    seed: number,
    firstTradeId: number,
    private readonly historyLimit: number,
  ) {
    this.priceRandom = seededRandom(seed ^ hash(name));
    this.faultRandom = seededRandom(seed ^ hash(`faults:${name}`));
    this.base = /^(BTC|XBT)/i.test(name) ? 60_000 : 3_000;
    this.price = this.open = this.high = this.low = this.base;
    this.nextId = firstTradeId;
  }

  get start(): number {
    return Math.max(0, this.size - this.historyLimit);
  }

  get end(): number {
    return this.size;
  }

  make(now: number): StreamTrade {
    const random = this.priceRandom;
    const gaussian = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    // Mean-reverting log walk: lively at any rate, never far from the base price.
    this.walk = this.walk * 0.9999 + 0.00005 * gaussian;
    const price = round(this.base * Math.exp(this.walk), 2);
    const qty = Math.min(1.99999999, Math.max(0.00010001, round(0.0001 + 1.9998 * random() ** 3, 8)));
    const takerSide = random() < 0.5 ? 'buy' : 'sell';
    const previous = this.size - 1;
    const lastTs = previous >= 0 ? (this.times[previous] as number) : Number.NEGATIVE_INFINITY;
    let ts = Math.max(now, lastTs);
    let subMs = ts === lastTs ? (this.subMs[previous] as number) + 1 : 0;
    if (subMs > 999_999) [ts, subMs] = [ts + 1, 0];
    const trade: StreamTrade = { tradeId: this.nextId, ts, price, qty, takerSide, sequence: (this.sequence += 1) };
    this.nextId += 1;
    this.append(trade, subMs);
    this.price = price;
    this.high = Math.max(this.high, price);
    this.low = Math.min(this.low, price);
    this.volume += qty;
    this.quoteVolume += price * qty;
    this.last = trade;
    return trade;
  }

  burn(count: number): void {
    this.nextId += count;
  }

  at(index: number): HistoryTrade {
    const ts = this.times[index] as number;
    return {
      tradeId: this.ids[index] as number,
      ts,
      price: this.prices[index] as number,
      qty: this.qtys[index] as number,
      takerSide: this.sells[index] === 1 ? 'sell' : 'buy',
      tsNs: BigInt(ts) * 1_000_000n + BigInt(this.subMs[index] as number),
    };
  }

  all(): FakeTrade[] {
    const trades: FakeTrade[] = [];
    for (let i = 0; i < this.size; i++) {
      const { tradeId, ts, price, qty, takerSide } = this.at(i);
      trades.push({ tradeId, ts, price, qty, takerSide });
    }
    return trades;
  }

  indexOfId(tradeId: number): number {
    return this.lowerBound((i) => (this.ids[i] as number) >= tradeId);
  }

  indexAfterNs(tsNs: bigint): number {
    const ms = Number(tsNs / 1_000_000n);
    const sub = Number(tsNs % 1_000_000n);
    return this.lowerBound((i) => {
      const ts = this.times[i] as number;
      return ts > ms || (ts === ms && (this.subMs[i] as number) > sub);
    });
  }

  /** First kept index where `isAtOrPast` holds (it must hold for every later index too). */
  private lowerBound(isAtOrPast: (index: number) => boolean): number {
    let low = this.start;
    let high = this.size;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (isAtOrPast(middle)) high = middle;
      else low = middle + 1;
    }
    return low;
  }

  private append(trade: FakeTrade, subMs: number): void {
    if (this.size === this.ids.length) {
      const grow = <T extends Float64Array | Uint32Array | Uint8Array>(column: T): T => {
        const bigger = new (column.constructor as new (length: number) => T)(column.length * 2);
        bigger.set(column);
        return bigger;
      };
      this.ids = grow(this.ids);
      this.times = grow(this.times);
      this.subMs = grow(this.subMs);
      this.prices = grow(this.prices);
      this.qtys = grow(this.qtys);
      this.sells = grow(this.sells);
    }
    const i = this.size;
    this.ids[i] = trade.tradeId;
    this.times[i] = trade.ts;
    this.subMs[i] = subMs;
    this.prices[i] = trade.price;
    this.qtys[i] = trade.qty;
    this.sells[i] = trade.takerSide === 'sell' ? 1 : 0;
    this.size += 1;
  }
}

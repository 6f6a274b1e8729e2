import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { fakeBinance } from './binance/fake.ts';
import { fakeCoinbase } from './coinbase/fake.ts';
import { fakeKraken } from './kraken/fake.ts';
import { normaliseSymbol } from '../../symbols.ts';
import { SyntheticWorld } from '../../synthetic-world.ts';
import { FakeMarket, type FakeTrade, type StreamTrade } from './fake-market.ts';
import type { ProtocolFactory, RestAnswer, VenueClient, VenueContext } from './fake-protocol.ts';

export type { FakeTrade } from './fake-market.ts';

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
  /** Seed of trade sizes, sides and faults (and of the world when none is given), for repeatable runs. Default 1. */
  seed?: number;
  /**
   * The made-up market whose walk the venue trades, seen through the venue's own basis and noise: share one with
   * the synthetic provider and the other venues so that they all tell one story. Default: a world of its own from `seed`.
   */
  world?: SyntheticWorld;
  /**
   * Interval of the venue's protocol pings/heartbeats in ms (binance: ws ping frames; kraken: heartbeat
   * messages; coinbase: its `heartbeat` channel). Default binance 20000, kraken and coinbase 1000.
   */
  pingIntervalMs?: number;
  /** Coinbase only: close connections that have not subscribed within this many ms. Default 5000. */
  subscribeTimeoutMs?: number;
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

/**
 * Starts a fake venue on 127.0.0.1 and a free port: REST and WebSocket on one server, playing `options.venue`'s
 * documented messages. Trades come from a timer every ~10 ms (`tradesPerSecond`) and from `emit`; the fault
 * methods inject what real venues do: drops, half-open sockets, malformed frames, holes, duplicates, 429s.
 */
export function startFakeVenue(options: FakeVenueOptions): Promise<FakeVenue> {
  switch (options.venue) {
    case 'binance':
      return startEngine(options, 20_000, fakeBinance);
    case 'coinbase':
      return startEngine(options, 1_000, fakeCoinbase);
    case 'kraken':
      return startEngine(options, 1_000, fakeKraken);
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
  const source = (options.world ?? new SyntheticWorld(settings.seed)).source(options.venue);
  const openedAt = Date.now();
  const markets = new Map(
    options.markets.map((name) => {
      const symbol = normaliseSymbol(name) ?? name;
      const quote = (ts: number) => source.price(symbol, ts);
      const { seed, firstTradeId, historyLimit } = settings;
      return [name, new FakeMarket({ name, quote, openedAt, seed, firstTradeId, historyLimit })];
    }),
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

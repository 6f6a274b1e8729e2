import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket, type ClientOptions } from 'ws';
import { startFakeVenue, type FakeTrade, type FakeVenue, type FakeVenueName, type FakeVenueOptions } from './fake-venue.ts';

/** A client socket that records everything it receives. */
class Session {
  readonly frames: string[] = [];
  /** Each frame parsed, or undefined when it is not JSON. */
  readonly messages: unknown[] = [];
  pings = 0;
  pongs = 0;
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      this.frames.push(text);
      try {
        this.messages.push(JSON.parse(text));
      } catch {
        this.messages.push(undefined);
      }
    });
    ws.on('ping', () => (this.pings += 1));
    ws.on('pong', () => (this.pongs += 1));
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    ws.on('error', () => undefined);
  }

  static open(url: string, options?: ClientOptions): Promise<Session> {
    const ws = new WebSocket(url, options);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Session(ws)));
      ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: HTTP ${response.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(message: object): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Messages of one kind, typed as the caller expects them. */
  where<T>(matches: (message: Msg) => boolean): T[] {
    return this.messages.filter((message) => typeof message === 'object' && message !== null && matches(message as Msg)) as T[];
  }
}

// Wire messages are checked field by field; a loose record keeps that readable.
type Msg = Record<string, unknown> & { data?: unknown };

/** Retries `check` until it returns something other than undefined/false, or fails after `timeoutMs`. */
async function eventually<T>(check: () => T | undefined | false, what: string, timeoutMs = 2_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function getJson(url: string): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, body: await response.json() };
}

// The trade messages as the venues document them.
interface BinanceTrade {
  e: 'trade';
  E: number;
  s: string;
  t: number;
  p: string;
  q: string;
  T: number;
  m: boolean;
  M: boolean;
}
interface CoinbaseMatch {
  type: string;
  trade_id: number;
  sequence: number;
  time: string;
  product_id: string;
  size: string;
  price: string;
  side: 'buy' | 'sell';
}
interface KrakenTrade {
  symbol: string;
  side: 'buy' | 'sell';
  price: number;
  qty: number;
  ord_type: string;
  trade_id: number;
  timestamp: string;
}

/** What the shared suite needs to know of each venue: how to subscribe, read trades off the wire and ask REST. */
interface Driver {
  venue: FakeVenueName;
  markets: string[];
  /** Connects and subscribes to the trades of every market; resolves once the venue acknowledged. */
  connect(fake: FakeVenue): Promise<Session>;
  /** The trades one stream message carries (none for other messages), decoded back to the ground-truth shape. */
  decode(message: unknown): FakeTrade[];
  /** Ids REST history returns from `fromId` on, ascending (one page). */
  restIds(fake: FakeVenue, fromId: number): Promise<number[]>;
  isRateLimited(answer: { status: number; headers: Headers; body: unknown }): boolean;
  restUrl(fake: FakeVenue): string;
}

const binance: Driver = {
  venue: 'binance',
  markets: ['BTCUSDT', 'ETHUSDT'],
  connect: (fake) => Session.open(`${fake.wsUrl}/stream?streams=btcusdt@trade/ethusdt@trade/!miniTicker@arr`),
  decode: (message) => {
    const { stream, data } = message as { stream?: string; data: BinanceTrade };
    if (!stream?.endsWith('@trade')) return [];
    return [{ tradeId: data.t, ts: data.T, price: Number(data.p), qty: Number(data.q), takerSide: data.m ? 'sell' : 'buy' }];
  },
  restIds: async (fake, fromId) => {
    const { body } = await getJson(`${fake.restUrl}/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${fromId}&limit=1000`);
    return (body as Array<{ id: number }>).map((row) => row.id);
  },
  isRateLimited: ({ status, headers, body }) =>
    status === 429 && headers.get('retry-after') === '1' && (body as { code: number }).code === -1003,
  restUrl: (fake) => `${fake.restUrl}/api/v3/historicalTrades?symbol=BTCUSDT`,
};

const coinbase: Driver = {
  venue: 'coinbase',
  markets: ['BTC-USD', 'ETH-USD'],
  connect: async (fake) => {
    const session = await Session.open(`${fake.wsUrl}/`);
    session.send({ type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channels: ['matches'] });
    await eventually(() => session.where((m) => m.type === 'subscriptions').length > 0, 'subscriptions');
    return session;
  },
  decode: (message) => {
    const match = message as CoinbaseMatch;
    if (match.type !== 'match') return [];
    const takerSide = match.side === 'sell' ? 'buy' : 'sell';
    return [{ tradeId: match.trade_id, ts: Date.parse(match.time), price: Number(match.price), qty: Number(match.size), takerSide }];
  },
  restIds: async (fake, fromId) => {
    const { body } = await getJson(`${fake.restUrl}/products/BTC-USD/trades?before=${fromId - 1}&limit=1000`);
    return (body as Array<{ trade_id: number }>).map((row) => row.trade_id).reverse();
  },
  isRateLimited: ({ status, body }) => status === 429 && (body as { message: string }).message === 'Public rate limit exceeded',
  restUrl: (fake) => `${fake.restUrl}/products/BTC-USD/trades`,
};

const kraken: Driver = {
  venue: 'kraken',
  markets: ['BTC/USD', 'ETH/USD'],
  connect: async (fake) => {
    const session = await Session.open(`${fake.wsUrl}/v2`);
    session.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['BTC/USD', 'ETH/USD'], snapshot: false }, req_id: 1 });
    await eventually(() => session.where((m) => m.method === 'subscribe' && m.success === true).length === 2, 'subscribe acks');
    return session;
  },
  decode: (message) => {
    const update = message as { channel?: string; type?: string; data: KrakenTrade[] };
    if (update.channel !== 'trade' || update.type !== 'update') return [];
    return update.data.map((t) => ({ tradeId: t.trade_id, ts: Date.parse(t.timestamp), price: t.price, qty: t.qty, takerSide: t.side }));
  },
  restIds: async (fake, fromId) => {
    const { body } = await getJson(`${fake.restUrl}/0/public/Trades?pair=BTC/USD&since=0&count=1000`);
    const rows = (body as { result: { XXBTZUSD: unknown[][] } }).result.XXBTZUSD;
    return rows.map((row) => row[6] as number).filter((id) => id >= fromId);
  },
  isRateLimited: ({ status, body }) => status === 200 && (body as { error: string[] }).error[0] === 'EAPI:Rate limit exceeded',
  restUrl: (fake) => `${fake.restUrl}/0/public/Trades?pair=BTC/USD`,
};

async function withVenue(driver: Driver, options: Partial<FakeVenueOptions>, test: (fake: FakeVenue) => Promise<void>): Promise<void> {
  const fake = await startFakeVenue({ venue: driver.venue, markets: driver.markets, ...options });
  try {
    await test(fake);
  } finally {
    await fake.close();
  }
}

const streamedIds = (session: Session, driver: Driver, market: string) =>
  session.messages.flatMap((message) =>
    driver
      .decode(message)
      .filter(() => JSON.stringify(message).includes(`"${market}"`))
      .map((t) => t.tradeId),
  );
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

for (const driver of [binance, coinbase, kraken]) {
  const [market = '', other = ''] = driver.markets;
  const ids = (session: Session) => streamedIds(session, driver, market);

  describe(`fake ${driver.venue}`, () => {
    it('streams emitted trades with consecutive ids, exactly as the ground truth has them', async () => {
      await withVenue(driver, { firstTradeId: 1000 }, async (fake) => {
        const session = await driver.connect(fake);
        assert.deepEqual(fake.emit(market, 20), range(1000, 1019));
        fake.emit(other, 3);
        await eventually(() => ids(session).length === 20, '20 trades');
        const decoded = session.messages.flatMap((message) => driver.decode(message)).filter((t) => t.tradeId < 1020);
        assert.deepEqual(decoded.slice(0, 20), fake.trades(market));
        assert.equal(fake.streamed(market), 20);
        for (const trade of fake.trades(market)) {
          assert.ok(trade.qty > 0.0001 && trade.qty < 2, `qty ${trade.qty}`);
          assert.ok(Math.abs(trade.price / (market.startsWith('BTC') ? 60_000 : 3_000) - 1) < 0.05, `price ${trade.price}`);
        }
        await eventually(() => streamedIds(session, driver, other).length === 3, 'trades of the other market');
      });
    });

    it('leaves a skipStream hole in the stream that REST history fills', async () => {
      await withVenue(driver, {}, async (fake) => {
        const session = await driver.connect(fake);
        fake.emit(market, 3);
        fake.skipStream(market, 4);
        fake.emit(market, 8);
        await eventually(() => ids(session).length === 7, '7 streamed trades');
        assert.deepEqual(ids(session), [1, 2, 3, 8, 9, 10, 11]);
        assert.deepEqual((await driver.restIds(fake, 4)).slice(0, 4), [4, 5, 6, 7]);
        assert.equal(fake.streamed(market), 7);
        assert.equal(fake.trades(market).length, 11);
      });
    });

    it('burns skipForever ids: missing from the stream and from REST history', async () => {
      await withVenue(driver, {}, async (fake) => {
        const session = await driver.connect(fake);
        fake.emit(market, 2);
        fake.skipForever(market, 3);
        assert.deepEqual(fake.emit(market, 2), [6, 7]);
        await eventually(() => ids(session).length === 4, '4 streamed trades');
        assert.deepEqual(ids(session), [1, 2, 6, 7]);
        assert.deepEqual(await driver.restIds(fake, 1), [1, 2, 6, 7]);
        assert.deepEqual(
          fake.trades(market).map((t) => t.tradeId),
          [1, 2, 6, 7],
        );
      });
    });

    it('keeps only the newest historyLimit trades in REST history', async () => {
      await withVenue(driver, { historyLimit: 10 }, async (fake) => {
        fake.emit(market, 30);
        assert.deepEqual(await driver.restIds(fake, 1), range(21, 30));
        assert.equal(fake.trades(market).length, 30);
      });
    });

    it('killConnections drops every client without a close frame', async () => {
      await withVenue(driver, {}, async (fake) => {
        const sessions = [await driver.connect(fake), await driver.connect(fake)];
        assert.equal(fake.stats().openConnections, 2);
        fake.killConnections();
        for (const session of sessions) await eventually(() => session.closed, 'the close');
        assert.deepEqual(
          sessions.map((session) => session.closed?.code),
          [1006, 1006],
        );
        assert.deepEqual(fake.stats().openConnections, 0);
        assert.deepEqual(fake.stats().connectionsAccepted, 2);
      });
    });

    it('goSilent stops trades and pongs on an open socket until heal', async () => {
      await withVenue(driver, {}, async (fake) => {
        const session = await driver.connect(fake);
        fake.goSilent();
        await sleep(50); // a heartbeat or ticker already on its way may still land
        const framesBefore = session.frames.length;
        fake.emit(market, 5);
        session.ws.ping();
        await sleep(300);
        assert.equal(session.frames.length, framesBefore, 'no frame while silent');
        assert.equal(session.pongs, 0, 'no pong while silent');
        assert.equal(session.ws.readyState, WebSocket.OPEN);
        assert.equal(fake.streamed(market), 0);
        fake.heal();
        session.ws.ping();
        fake.emit(market, 1);
        await eventually(() => ids(session).length === 1 && session.pongs === 1, 'a trade and a pong after heal');
        assert.deepEqual(ids(session), [6]);
        assert.deepEqual(await driver.restIds(fake, 1), range(1, 6));
      });
    });

    it('sendMalformed sends a frame that is not JSON and one of the wrong shape', async () => {
      await withVenue(driver, {}, async (fake) => {
        const session = await driver.connect(fake);
        const before = session.frames.length;
        fake.sendMalformed('not-json');
        fake.sendMalformed('wrong-shape');
        // Tickers and heartbeats may come in between.
        const fresh = () => session.frames.slice(before).filter((frame) => !/heartbeat|miniTicker|"ticker"/.test(frame));
        await eventually(() => fresh().length === 2, 'two frames');
        const [notJson = '', wrongShape = ''] = fresh();
        assert.throws(() => JSON.parse(notJson), SyntaxError);
        const wrong: unknown = JSON.parse(wrongShape);
        assert.throws(() => {
          const trades = driver.decode(wrong);
          if (!trades.every((t) => Number.isInteger(t.tradeId) && Number.isFinite(t.price))) throw new Error('bad trade');
        });
      });
    });

    it('answers REST past restRequestsPerSecond with the venue rate-limit error', async () => {
      await withVenue(driver, { restRequestsPerSecond: 2 }, async (fake) => {
        const answers = [];
        for (let i = 0; i < 4; i++) answers.push(await getJson(driver.restUrl(fake)));
        const limited = answers.map((answer) => driver.isRateLimited(answer));
        assert.deepEqual(limited.slice(0, 2), [false, false]);
        assert.ok(limited[3], 'the fourth request is refused');
        assert.ok(fake.stats().rest429 >= 1);
        assert.equal(fake.stats().restRequests, 4);
      });
    });

    it('duplicates and swaps trades on the stream when asked, repeatably by seed', async () => {
      await withVenue(driver, { duplicateRate: 1 }, async (fake) => {
        const session = await driver.connect(fake);
        fake.emit(market, 3);
        await eventually(() => ids(session).length === 6, 'six frames');
        assert.deepEqual(ids(session), [1, 1, 2, 2, 3, 3]);
      });
      await withVenue(driver, { reorderRate: 1 }, async (fake) => {
        const session = await driver.connect(fake);
        fake.emit(market, 5);
        await eventually(() => ids(session).length === 5, 'five trades');
        assert.deepEqual(ids(session), [2, 1, 4, 3, 5]);
      });
      const runs = await Promise.all(
        [7, 7].map(async (seed) => {
          const fake = await startFakeVenue({ venue: driver.venue, markets: driver.markets, seed });
          fake.emit(market, 50);
          await fake.close();
          return fake.trades(market).map(({ price, qty, takerSide }) => [price, qty, takerSide]);
        }),
      );
      assert.deepEqual(runs[0], runs[1]);
    });

    it('makes tradesPerSecond trades per market by itself', async () => {
      await withVenue(driver, {}, async (fake) => {
        const session = await driver.connect(fake);
        const started = Date.now();
        fake.setRate(1_000);
        await sleep(300);
        fake.setRate(0);
        const elapsedMs = Date.now() - started;
        const made = fake.trades(market).length;
        assert.ok(made >= 0.7 * elapsedMs && made <= 1.1 * elapsedMs + 20, `made ${made} in ${elapsedMs} ms`);
        assert.equal(fake.trades(other).length, made, 'every market at the same rate');
        await eventually(() => ids(session).length > 0 && fake.streamed(market) === made, 'the stream to catch up');
        const seen = ids(session);
        const first = seen[0] ?? 0;
        assert.deepEqual(seen, range(first, first + seen.length - 1));
      });
    });
  });
}

describe('fake binance protocol', () => {
  it('refuses unknown stream names with HTTP 400 and unknown paths with 404', async () => {
    await withVenue(binance, {}, async (fake) => {
      await assert.rejects(Session.open(`${fake.wsUrl}/stream?streams=badusdt@trade`), /HTTP 400/);
      await assert.rejects(Session.open(`${fake.wsUrl}/stream?streams=BTCUSDT@trade`), /HTTP 400/);
      await assert.rejects(Session.open(`${fake.wsUrl}/v2`), /HTTP 404/);
    });
  });

  it('sends raw trade events on /ws/<stream> and answers live SUBSCRIBE', async () => {
    await withVenue(binance, {}, async (fake) => {
      const raw = await Session.open(`${fake.wsUrl}/ws/btcusdt@trade`);
      const live = await Session.open(`${fake.wsUrl}/ws`);
      live.send({ method: 'SUBSCRIBE', params: ['ethusdt@trade'], id: 7 });
      await eventually(() => live.where((m) => m.id === 7).length === 1, 'the SUBSCRIBE answer');
      assert.deepEqual(live.messages[0], { result: null, id: 7 });
      fake.emit('BTCUSDT', 1);
      fake.emit('ETHUSDT', 1);
      await eventually(() => raw.messages.length === 1 && live.messages.length === 2, 'one trade each');
      const event = raw.messages[0] as Msg;
      assert.deepEqual(Object.keys(event), ['e', 'E', 's', 't', 'p', 'q', 'T', 'm', 'M']);
      assert.equal(event.e, 'trade');
      assert.equal(event.s, 'BTCUSDT');
      assert.match(event.p as string, /^\d+\.\d{8}$/);
      assert.equal(event.M, true);
      assert.equal((live.messages[1] as Msg).s, 'ETHUSDT');
    });
  });

  it('sends !miniTicker@arr with every market once a second', async () => {
    await withVenue(binance, {}, async (fake) => {
      const session = await binance.connect(fake);
      fake.emit('BTCUSDT', 5);
      const [arr] = await eventually(() => {
        const found = session.where<Msg>((m) => m.stream === '!miniTicker@arr');
        return found.length > 0 && found;
      }, 'a miniTicker array');
      const tickers = arr?.data as Array<Record<string, unknown>>;
      assert.deepEqual(
        tickers.map((t) => t.s),
        ['BTCUSDT', 'ETHUSDT'],
      );
      assert.deepEqual(Object.keys(tickers[0] ?? {}), ['e', 'E', 's', 'c', 'o', 'h', 'l', 'v', 'q']);
      assert.equal(tickers[0]?.e, '24hrMiniTicker');
    });
  });

  it('pings every pingIntervalMs and terminates a client that does not pong for three', async () => {
    await withVenue(binance, { pingIntervalMs: 50 }, async (fake) => {
      const polite = await binance.connect(fake);
      const mute = await Session.open(`${fake.wsUrl}/ws/btcusdt@trade`, { autoPong: false });
      await eventually(() => mute.closed, 'the mute client to be dropped');
      assert.equal(mute.closed?.code, 1006);
      assert.ok(mute.pings >= 2, `pings ${mute.pings}`);
      assert.ok(polite.pings >= 3);
      assert.equal(polite.closed, undefined);
    });
  });

  it('validates historicalTrades parameters with Binance error bodies', async () => {
    await withVenue(binance, {}, async (fake) => {
      fake.emit('BTCUSDT', 700);
      const page = await getJson(`${fake.restUrl}/api/v3/historicalTrades?symbol=BTCUSDT`);
      const rows = page.body as Array<Record<string, unknown>>;
      assert.equal(rows.length, 500, 'the newest 500 by default');
      assert.equal(rows[0]?.id, 201);
      assert.deepEqual(Object.keys(rows[0] ?? {}), ['id', 'price', 'qty', 'quoteQty', 'time', 'isBuyerMaker', 'isBestMatch']);
      const unknown = await getJson(`${fake.restUrl}/api/v3/historicalTrades?symbol=BADUSDT`);
      assert.deepEqual([unknown.status, unknown.body], [400, { code: -1121, msg: 'Invalid symbol.' }]);
      const tooMany = await getJson(`${fake.restUrl}/api/v3/historicalTrades?symbol=BTCUSDT&limit=1001`);
      assert.equal(tooMany.status, 400);
      assert.equal((tooMany.body as { code: number }).code, -1100);
    });
  });

  it('closes a client whose buffer stays over 8 MB with 1008 slow consumer', async () => {
    await withVenue(binance, {}, async (fake) => {
      const slow = await binance.connect(fake);
      slow.ws.pause();
      await eventually(
        () => {
          fake.emit('BTCUSDT', 5_000);
          return fake.stats().slowConsumers === 1;
        },
        'the slow consumer to be dropped',
        8_000,
      );
      slow.ws.resume();
      await eventually(() => slow.closed, 'the close');
      assert.ok([1008, 1006].includes(slow.closed?.code ?? 0), `closed with ${slow.closed?.code}`);
    });
  });
});

describe('fake coinbase protocol', () => {
  it('acknowledges channel objects, sends last_match first, then matches in sequence with the maker side', async () => {
    await withVenue(coinbase, {}, async (fake) => {
      fake.emit('BTC-USD', 2);
      const session = await Session.open(`${fake.wsUrl}/`);
      session.send({ type: 'subscribe', channels: [{ name: 'matches', product_ids: ['BTC-USD'] }, 'ticker'], product_ids: ['BTC-USD'] });
      await eventually(() => session.messages.length >= 2, 'ack and last_match');
      assert.deepEqual(session.messages[0], {
        type: 'subscriptions',
        channels: [
          { name: 'matches', product_ids: ['BTC-USD'] },
          { name: 'ticker', product_ids: ['BTC-USD'] },
        ],
      });
      const last = session.messages[1] as Msg;
      assert.equal(last.type, 'last_match');
      assert.equal(last.trade_id, 2);
      fake.emit('BTC-USD', 3);
      const matches = await eventually(() => {
        const found = session.where<Msg>((m) => m.type === 'match');
        return found.length === 3 && found;
      }, 'three matches');
      const truth = fake.trades('BTC-USD');
      for (const [i, match] of matches.entries()) {
        assert.equal(match.trade_id, i + 3);
        assert.equal(match.side, truth[i + 2]?.takerSide === 'buy' ? 'sell' : 'buy');
        assert.match(match.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
        assert.match(match.maker_order_id as string, /^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$/);
      }
      const ticker = await eventually(
        () => session.where<Msg>((m) => m.type === 'ticker' && m.trade_id === 5)[0],
        'a ticker of the last trade',
      );
      assert.deepEqual(Object.keys(ticker).sort(), Object.keys(COINBASE_TICKER).sort());
      // Matches and tickers of a product share one sequence, one number a message.
      const sequences = session.where<Msg>((m) => m.type === 'match' || m.type === 'ticker').map((m) => m.sequence as number);
      assert.deepEqual(
        sequences,
        sequences.map((_, i) => (last.sequence as number) + 1 + i),
      );
    });
  });

  it('refuses an unknown product and closes a client that never subscribes', async () => {
    await withVenue(coinbase, { subscribeTimeoutMs: 150 }, async (fake) => {
      const session = await Session.open(`${fake.wsUrl}/`);
      session.send({ type: 'subscribe', product_ids: ['BAD-USD'], channels: ['matches'] });
      await eventually(() => session.messages.length === 1, 'the refusal');
      assert.deepEqual(session.messages[0], { type: 'error', message: 'Failed to subscribe', reason: 'BAD-USD is not a valid product' });
      await eventually(() => session.closed, 'the close after the subscribe timeout');
      assert.deepEqual(session.messages[1], { type: 'error', message: 'Failed to subscribe', reason: 'subscribe timeout' });
      assert.equal(session.closed?.code, 1008);
    });
  });

  it('sends heartbeats every pingIntervalMs to heartbeat subscribers', async () => {
    await withVenue(coinbase, { pingIntervalMs: 50 }, async (fake) => {
      fake.emit('ETH-USD', 1);
      const session = await Session.open(`${fake.wsUrl}/`);
      session.send({ type: 'subscribe', product_ids: ['ETH-USD'], channels: ['heartbeat'] });
      const beats = await eventually(() => {
        const found = session.where<Msg>((m) => m.type === 'heartbeat');
        return found.length >= 2 && found;
      }, 'two heartbeats');
      assert.equal(beats[0]?.last_trade_id, 1);
      assert.equal(beats[0]?.product_id, 'ETH-USD');
    });
  });

  it('pages REST trades newest first with after/before cursors and CB headers', async () => {
    await withVenue(coinbase, {}, async (fake) => {
      fake.emit('BTC-USD', 30);
      const newest = await getJson(`${fake.restUrl}/products/BTC-USD/trades?limit=10`);
      const ids = (body: unknown) => (body as Array<{ trade_id: number }>).map((row) => row.trade_id);
      assert.deepEqual(ids(newest.body), range(21, 30).reverse());
      assert.equal(newest.headers.get('cb-before'), '30');
      assert.equal(newest.headers.get('cb-after'), '21');
      const older = await getJson(`${fake.restUrl}/products/BTC-USD/trades?limit=10&after=21`);
      assert.deepEqual(ids(older.body), range(11, 20).reverse());
      const newer = await getJson(`${fake.restUrl}/products/BTC-USD/trades?limit=5&before=3`);
      assert.deepEqual(ids(newer.body), [8, 7, 6, 5, 4]);
      const row = (newest.body as Array<Record<string, unknown>>)[0];
      assert.deepEqual(Object.keys(row ?? {}), ['time', 'trade_id', 'price', 'size', 'side']);
      const missing = await getJson(`${fake.restUrl}/products/BAD-USD/trades`);
      assert.deepEqual([missing.status, missing.body], [404, { message: 'NotFound' }]);
    });
  });
});

const COINBASE_TICKER = {
  type: 'ticker',
  sequence: 0,
  product_id: '',
  price: '',
  open_24h: '',
  volume_24h: '',
  low_24h: '',
  high_24h: '',
  volume_30d: '',
  best_bid: '',
  best_bid_size: '',
  best_ask: '',
  best_ask_size: '',
  side: '',
  time: '',
  trade_id: 0,
  last_size: '',
};

describe('fake kraken protocol', () => {
  it('greets with status, acks one subscribe per symbol, refuses unknown pairs, answers ping', async () => {
    await withVenue(kraken, {}, async (fake) => {
      const session = await Session.open(`${fake.wsUrl}/v2`);
      await eventually(() => session.messages.length === 1, 'the status message');
      const status = session.messages[0] as { channel: string; data: Array<Record<string, unknown>> };
      assert.equal(status.channel, 'status');
      assert.deepEqual(Object.keys(status.data[0] ?? {}), ['api_version', 'connection_id', 'system', 'version']);
      session.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['BTC/USD', 'BAD/USD'], snapshot: false }, req_id: 1 });
      session.send({ method: 'ping', req_id: 9 });
      const answers = () => session.where<Msg>((m) => m.channel !== 'heartbeat').slice(1);
      await eventually(() => answers().length === 3, 'two answers and a pong');
      const [ack, refusal, pong] = answers();
      assert.deepEqual(ack?.result, { channel: 'trade', symbol: 'BTC/USD', snapshot: false });
      assert.equal(ack?.success, true);
      assert.equal(refusal?.error, 'Currency pair not supported BAD/USD');
      assert.equal(refusal?.success, false);
      assert.equal(refusal?.symbol, 'BAD/USD');
      assert.equal(pong?.method, 'pong');
      assert.equal(pong?.req_id, 9);
      assert.match(pong?.time_in as string, /Z$/);
    });
  });

  it('batches trades as numbers with the taker side, sends tickers and heartbeats', async () => {
    await withVenue(kraken, { pingIntervalMs: 50 }, async (fake) => {
      const session = await kraken.connect(fake);
      session.send({ method: 'subscribe', params: { channel: 'ticker', symbol: ['BTC/USD'] }, req_id: 2 });
      fake.emit('BTC/USD', 4);
      const [update] = await eventually(() => {
        const found = session.where<Msg>((m) => m.channel === 'trade');
        return found.length > 0 && found;
      }, 'a trade update');
      const data = update?.data as Array<Record<string, unknown>>;
      assert.equal(data.length, 4, 'one message for the batch');
      assert.deepEqual(Object.keys(data[0] ?? {}), ['symbol', 'side', 'price', 'qty', 'ord_type', 'trade_id', 'timestamp']);
      assert.equal(typeof data[0]?.price, 'number');
      assert.equal(data[0]?.side, fake.trades('BTC/USD')[0]?.takerSide);
      await eventually(() => session.where((m) => m.channel === 'heartbeat').length >= 2, 'heartbeats');
      const tickers = await eventually(() => {
        const found = session.where<Msg>((m) => m.channel === 'ticker');
        return found.length > 0 && found;
      }, 'a ticker');
      const ticker = (tickers[0]?.data as Array<Record<string, unknown>>)[0];
      assert.equal(ticker?.last, fake.trades('BTC/USD')[3]?.price);
      for (const field of ['bid', 'bid_qty', 'ask', 'ask_qty', 'volume', 'vwap', 'low', 'high', 'change', 'change_pct']) {
        assert.equal(typeof ticker?.[field], 'number', field);
      }
    });
  });

  it('pages REST trades strictly after since, by the last cursor, under every pair alias', async () => {
    await withVenue(kraken, {}, async (fake) => {
      fake.emit('BTC/USD', 25);
      const seen: number[] = [];
      let since = '0';
      for (let page = 0; page < 5; page++) {
        const { body } = await getJson(`${fake.restUrl}/0/public/Trades?pair=XBTUSD&since=${since}&count=10`);
        const result = (body as { error: string[]; result: { XXBTZUSD: unknown[][]; last: string } }).result;
        seen.push(...result.XXBTZUSD.map((row) => row[6] as number));
        since = result.last;
      }
      // The 25 trades share a few milliseconds: only the nanosecond cursor pages them without loss.
      assert.deepEqual(seen, range(1, 25));
      const first = fake.trades('BTC/USD')[0] as FakeTrade;
      const { body } = await getJson(`${fake.restUrl}/0/public/Trades?pair=BTCUSD&since=${(first.ts - 1) / 1_000}&count=1`);
      const row = (body as { result: { XXBTZUSD: unknown[][] } }).result.XXBTZUSD[0];
      assert.deepEqual(row, [
        first.price.toFixed(5),
        first.qty.toFixed(8),
        first.ts / 1_000,
        first.takerSide === 'buy' ? 'b' : 's',
        'm',
        '',
        1,
      ]);
      const eth = await getJson(`${fake.restUrl}/0/public/Trades?pair=ETH/USD`);
      assert.ok('ETHUSD' in (eth.body as { result: object }).result);
      const unknown = await getJson(`${fake.restUrl}/0/public/Trades?pair=BADUSD`);
      assert.deepEqual([unknown.status, unknown.body], [200, { error: ['EQuery:Unknown asset pair'] }]);
    });
  });
});

describe('fake venues together', () => {
  it('sustain 20 000 trades/s across three venues without losing a streamed trade', async () => {
    const drivers = [binance, coinbase, kraken];
    const fakes = await Promise.all(drivers.map((driver) => startFakeVenue({ venue: driver.venue, markets: driver.markets })));
    try {
      const sessions = await Promise.all(drivers.map((driver, i) => driver.connect(fakes[i] as FakeVenue)));
      const perMarket = 20_000 / 6;
      const started = Date.now();
      for (const fake of fakes) fake.setRate(perMarket);
      await sleep(1_000);
      for (const fake of fakes) fake.setRate(0);
      const seconds = (Date.now() - started) / 1_000;
      const streamed = fakes.flatMap((fake, i) => (drivers[i] as Driver).markets.map((market) => fake.streamed(market)));
      const total = streamed.reduce((sum, n) => sum + n, 0);
      assert.ok(total >= 0.85 * 20_000 * seconds, `made ${total} trades in ${seconds} s`);
      const received = () =>
        sessions.reduce((sum, session, i) => sum + session.messages.flatMap((m) => (drivers[i] as Driver).decode(m)).length, 0);
      await eventually(() => received() === total, `all ${total} trades to arrive (got ${received()})`, 5_000);
      for (const fake of fakes) assert.equal(fake.stats().slowConsumers, 0);
    } finally {
      await Promise.all(fakes.map((fake) => fake.close()));
    }
  });
});

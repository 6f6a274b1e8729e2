import { hashText, seededRandom } from '../../seeded-random.ts';

/** One trade as the venue made it: the ground truth tests compare a reader's output with. */
export interface FakeTrade {
  tradeId: number;
  ts: number;
  price: number;
  qty: number;
  takerSide: 'buy' | 'sell';
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
  /** Decimals of the market's prices (its tick is 10^-decimals): 2 for BTC, more for cheaper coins. */
  readonly decimals: number;
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

const round = (value: number, decimals: number) => Math.round(value * 10 ** decimals) / 10 ** decimals;

/** What a fake market is made of. */
export interface FakeMarketOptions {
  /** The venue's name of the market: `BTCUSDT`, `BTC-USD`, `BTC/USD`. */
  name: string;
  /** The price the venue quotes at a time (epoch ms): its view of the synthetic world. */
  quote: (ts: number) => number;
  /** Seed of sizes, sides and the stream's faults. */
  seed: number;
  firstTradeId: number;
  historyLimit: number;
  /** When the market opens, epoch ms: its first quote sets the ticker's open. */
  openedAt: number;
}

/**
 * One market's trades in typed-array columns (~45 bytes a trade, so a long benchmark fits in memory) and its
 * running ticker. Each trade is priced by `quote` at its time, rounded to the market's tick; sizes, sides and
 * faults are drawn from `seed` and the market's name, so a run with one seed and world repeats. Every trade is
 * kept for `all()`; REST history is the newest `historyLimit` of them.
 */
export class FakeMarket implements MarketBook, TradeHistory {
  readonly name: string;
  readonly history: TradeHistory = this;
  readonly decimals: number;
  /** Seeded draws for the stream's faults (duplicates, swaps), apart from the sizes' and sides'. */
  readonly faultRandom: () => number;
  sequence = 0;
  /** Trades handed to the stream (the engine counts them). */
  streamed = 0;
  /** How many of the next trades are made but not streamed (the engine counts them down). */
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
  private readonly historyLimit: number;
  private readonly quote: (ts: number) => number;
  private readonly random: () => number;
  /** The unit of trade sizes: sizes run from 0.0001 to 2 lots. */
  private readonly lot: number;

  constructor(options: FakeMarketOptions) {
    this.name = options.name;
    this.quote = options.quote;
    this.historyLimit = options.historyLimit;
    this.random = seededRandom(options.seed ^ hashText(options.name));
    this.faultRandom = seededRandom(options.seed ^ hashText(`faults:${options.name}`));
    const first = options.quote(options.openedAt);
    // About seven significant digits, as exchanges tick: 0.01 for BTC, 0.0000001 for a $0.20 coin.
    this.decimals = Math.min(8, Math.max(2, 6 - Math.floor(Math.log10(first))));
    this.price = this.open = this.high = this.low = round(first, this.decimals);
    // Sizes of a few tens of thousands of dollars at most, whatever the coin costs: up to 2 BTC, 20 ETH, 200 000 DOGE.
    this.lot = 10 ** Math.round(Math.log10(50_000 / first));
    this.nextId = options.firstTradeId;
  }

  get start(): number {
    return Math.max(0, this.size - this.historyLimit);
  }

  get end(): number {
    return this.size;
  }

  /** Makes the next trade, stamped `now` (or later, to keep stamps in order), and keeps it. */
  make(now: number): StreamTrade {
    const random = this.random;
    const qty = round(this.lot * Math.min(1.99999999, Math.max(0.00010001, 0.0001 + 1.9998 * random() ** 3)), 8);
    const takerSide = random() < 0.5 ? 'buy' : 'sell';
    const previous = this.size - 1;
    const lastTs = previous >= 0 ? (this.times[previous] as number) : Number.NEGATIVE_INFINITY;
    let ts = Math.max(now, lastTs);
    let subMs = ts === lastTs ? (this.subMs[previous] as number) + 1 : 0;
    if (subMs > 999_999) [ts, subMs] = [ts + 1, 0];
    const price = round(this.quote(ts), this.decimals);
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

  /** Skips `count` trade ids: they are never made. */
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

  /** Every trade made, in id order (history limit or not). */
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

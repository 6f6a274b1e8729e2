import type { Venue } from '../../../core/records/trade.ts';

/** One trade as a venue reported it, in the venue's market name. */
export interface VenueTrade {
  market: string;
  tradeId: number;
  /** Trade time, epoch ms UTC. */
  ts: number;
  price: number;
  qty: number;
  /** The taker's side. */
  side: 'buy' | 'sell';
}

/** A venue's ticker for one market: its last price and 24 h figures. */
export interface VenueTicker {
  market: string;
  /** The venue's time of the figures, epoch ms; `null` when the message carries none (use receive time). */
  ts: number | null;
  price: number;
  /** Quote-currency volume over 24 h, when the venue gives it (or its parts). */
  quoteVolume24h: number | null;
  change24hPct: number | null;
}

/** What one frame held. A frame of no interest (an ack, a heartbeat) gives empty lists. */
export interface Frame {
  trades: VenueTrade[];
  tickers: VenueTicker[];
  /** The venue reported an error on the connection (a refused subscription, say). */
  error?: string;
}

/**
 * How to talk to one venue over its WebSocket: where to connect, what to send once connected, and
 * how to read what comes back. Pure functions, so each venue is tested on its documented messages.
 */
export interface StreamProtocol {
  venue: Venue;
  /** The venue's name of the market of `symbol` (quoted in USD or USDT). */
  market(symbol: string): string;
  /** The URL to open for `markets` under the configured root. */
  url(root: string, markets: readonly string[]): string;
  /** Messages to send as soon as the connection is open. */
  subscribe(markets: readonly string[]): string[];
  /** An application-level ping to send every `intervalMs` (besides WebSocket ping frames), if the venue wants one. */
  keepalive?: { intervalMs: number; message(sequence: number): string };
  /** Reads one text frame. Throws an Error saying what is wrong with a malformed frame. */
  parse(text: string): Frame;
}

/** A missing run of trade ids of one market, and the times around it. */
export interface HistoryRange {
  market: string;
  first: number;
  last: number;
  fromTs: number;
  toTs: number;
}

/**
 * A venue's REST trade history, for filling holes. `fetch` yields pages of trades from the range
 * (and maybe a few around it: callers keep only what they miss); it stops when the range is
 * covered or the venue has nothing more. Errors are `ProviderHttpError`s.
 */
export interface TradeHistory {
  /** Cost of one page in the venue's rate-limit units (Binance weighs requests). */
  pageCost: number;
  fetch(range: HistoryRange, signal: AbortSignal): AsyncIterable<VenueTrade[]>;
}

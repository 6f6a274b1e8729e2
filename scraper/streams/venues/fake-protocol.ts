import type { MarketBook, StreamTrade } from './fake-market.ts';

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

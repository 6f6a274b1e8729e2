import WebSocket from 'ws';
import { messageOf } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';

/** How a venue connection lives: liveness checks, rotation and reconnect backoff. */
export interface ConnectionTiming {
  /** A WebSocket ping frame is sent this often, ms. */
  pingIntervalMs: number;
  /** Nothing received (message or pong) for this long means the connection is dead (half-open), ms. */
  idleTimeoutMs: number;
  /** A connection is replaced before it gets this old (Binance closes them at 24 h), ms. */
  maxAgeMs: number;
  /** Reconnect delays: full jitter up to `min * 2^attempt`, capped at max, ms. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

export interface ConnectionOptions extends ConnectionTiming {
  venue: string;
  url: string;
  /** Sent as soon as each connection opens. */
  subscribe: readonly string[];
  /** An application-level ping the venue wants, besides ping frames. */
  keepalive?: { intervalMs: number; message(sequence: number): string };
  log: Logger;
  /**
   * Every text frame, from whichever connection is open. During a rotation two overlap:
   * `replacement` then numbers the new one's frames (undefined for the old one's), and the caller
   * calls `promote()` once the new one has shown it is subscribed to everything.
   */
  onMessage(text: string, replacement: number | undefined): void;
  /** A connection ended without being asked to: what was in flight on it may be lost. */
  onDown(reason: string): void;
  /** A connection opened and subscribed. */
  onUp?(): void;
}

/** Longest two connections overlap in a rotation before the old one closes anyway, ms. */
const ROTATION_OVERLAP_MAX_MS = 10_000;

interface Live {
  socket: WebSocket;
  /** Its number among the connections opened (1, 2, …). */
  id: number;
  openedAt: number;
  lastHeardAt: number;
  timers: NodeJS.Timeout[];
  /** Ended on purpose (rotation, stop, drop): its close is not a failure. */
  retiring: boolean;
}

/**
 * One venue's WebSocket, kept open: it subscribes on every open, answers the venue's pings (the
 * `ws` client pongs by itself), sends its own pings and declares a connection dead when nothing
 * comes back within `idleTimeoutMs`, reconnects with jittered exponential backoff, and replaces a
 * connection before `maxAgeMs` by opening the new one first and closing the old one only when the
 * caller `promote()`s the new one (it delivered every market) or after 10 s, so a rotation misses
 * nothing (the overlap's duplicates are the caller's to drop).
 */
export class VenueConnection {
  private current: Live | undefined;
  private rotating: Live | undefined;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private paused = false;
  private opened = 0;

  constructor(private readonly options: ConnectionOptions) {}

  /** Connections opened so far, the first included. */
  get connections(): number {
    return this.opened;
  }

  get connected(): boolean {
    return this.current?.socket.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.current = this.open();
  }

  /** Stops reading frames (the venue's sends queue up in TCP) until `resume`. */
  pause(): void {
    this.paused = true;
    for (const live of this.lives()) live.socket.pause();
  }

  resume(): void {
    this.paused = false;
    for (const live of this.lives()) {
      live.socket.resume();
      live.lastHeardAt = Date.now();
    }
  }

  /**
   * Closes the connections at once and reconnects: the caller could not keep up with them. Unlike
   * a connection that fails, this does not call `onDown`: the caller knows why, and says so.
   */
  drop(): void {
    const lives = this.lives();
    this.current = undefined;
    this.rotating = undefined;
    for (const live of lives) this.retire(live, 'terminate');
    this.scheduleReconnect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const lives = this.lives();
    this.current = undefined;
    this.rotating = undefined;
    await Promise.all(
      lives.map(
        (live) =>
          new Promise<void>((resolve) => {
            if (live.socket.readyState === WebSocket.CLOSED) return resolve();
            live.socket.once('close', () => resolve());
            this.retire(live, 'close');
            setTimeout(() => {
              live.socket.terminate();
              resolve();
            }, 1_000).unref();
          }),
      ),
    );
  }

  private lives(): Live[] {
    return [this.current, this.rotating].filter((live): live is Live => live !== undefined);
  }

  private open(): Live {
    const { options } = this;
    const socket = new WebSocket(options.url, { handshakeTimeout: options.idleTimeoutMs });
    this.opened += 1;
    const live: Live = { socket, id: this.opened, openedAt: Date.now(), lastHeardAt: Date.now(), timers: [], retiring: false };
    const heard = () => {
      live.lastHeardAt = Date.now();
    };
    socket.on('open', () => {
      heard();
      for (const message of options.subscribe) socket.send(message);
      if (this.paused) socket.pause();
      live.timers.push(setInterval(() => this.check(live), options.pingIntervalMs));
      if (options.keepalive) {
        let sequence = 0;
        const keepalive = options.keepalive;
        live.timers.push(
          setInterval(() => socket.readyState === WebSocket.OPEN && socket.send(keepalive.message(++sequence)), keepalive.intervalMs),
        );
      }
      options.onUp?.();
    });
    socket.on('message', (data, isBinary) => {
      heard();
      if (live.retiring) return;
      if (live === this.current && this.attempt > 0) this.attempt = 0;
      const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString();
      options.onMessage(text, live === this.rotating ? live.id : undefined);
    });
    socket.on('pong', heard);
    socket.on('ping', heard);
    socket.on('error', (error) => {
      options.log.debug({ venue: options.venue, err: messageOf(error) }, 'Stream connection error');
    });
    socket.on('close', (code, reason) => {
      for (const timer of live.timers) clearInterval(timer);
      if (live.retiring || this.stopped) return;
      const why = `connection closed (code ${code}${reason.length > 0 ? `, ${reason.toString()}` : ''})`;
      if (live === this.rotating) {
        this.rotating = undefined;
        return;
      }
      this.current = undefined;
      options.onDown(why);
      this.scheduleReconnect();
    });
    return live;
  }

  /** The liveness check of one connection: dead when silent too long, rotated when too old. */
  private check(live: Live): void {
    const now = Date.now();
    if (live.retiring || live.socket.readyState !== WebSocket.OPEN) return;
    if (!this.paused && now - live.lastHeardAt > this.options.idleTimeoutMs) {
      this.options.log.warn({ venue: this.options.venue, silentMs: now - live.lastHeardAt }, 'Stream connection went silent; reconnecting');
      live.socket.terminate();
      return;
    }
    if (!this.paused) live.socket.ping();
    const replacement = this.rotating;
    if (live === this.current && replacement && now - replacement.openedAt > ROTATION_OVERLAP_MAX_MS) {
      // A market that never trades cannot prove the new subscription: stop waiting for it.
      if (replacement.socket.readyState === WebSocket.OPEN) this.finishRotation();
      return;
    }
    if (live === this.current && !this.rotating && now - live.openedAt >= this.options.maxAgeMs) {
      this.options.log.info({ venue: this.options.venue }, 'Rotating the stream connection before its age limit');
      this.rotating = this.open();
    }
  }

  /** The replacement carries everything now (the caller saw it deliver every market): the old one closes. */
  promote(): void {
    if (this.rotating) this.finishRotation();
  }

  /** The old connection closes cleanly; the replacement becomes the current one. */
  private finishRotation(): void {
    const old = this.current;
    this.current = this.rotating;
    this.rotating = undefined;
    if (old) this.retire(old, 'close');
  }

  private retire(live: Live, how: 'close' | 'terminate'): void {
    live.retiring = true;
    for (const timer of live.timers) clearInterval(timer);
    if (how === 'terminate') live.socket.terminate();
    else if (live.socket.readyState === WebSocket.CONNECTING) live.socket.terminate();
    else live.socket.close(1000, 'rotating');
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    const ceiling = Math.min(this.options.reconnectMaxMs, this.options.reconnectMinMs * 2 ** this.attempt);
    const delay = this.options.reconnectMinMs / 2 + Math.random() * (ceiling - this.options.reconnectMinMs / 2);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      if (!this.stopped && !this.current) this.current = this.open();
    }, delay);
  }
}

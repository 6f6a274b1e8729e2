import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket, type ClientOptions } from 'ws';

/** A client socket that records everything it receives. */
export class Session {
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

/** A wire message checked field by field: a loose record keeps that readable. */
export type Msg = Record<string, unknown> & { data?: unknown };

/** Retries `check` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false, what: string, timeoutMs = 2_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** GETs `url` and parses the JSON body, whatever the status. */
export async function getJson(url: string): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** The integers `from` to `to`, both included. */
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

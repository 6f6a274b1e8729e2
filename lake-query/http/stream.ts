import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { PriceRecord } from '../../core/records/price.ts';
import type { LiveFeed } from '../live-feed.ts';

/** Seconds between keep-alive comments, so proxies keep an idle stream open. */
const HEARTBEAT_MS = 15_000;

/** How slow a stream client may be before the server drops it. */
export interface StreamLimits {
  /** Events one client may have waiting; one more and it is dropped. */
  maxBuffered: number;
  /** Longest one write to the client may wait for the client to read, ms; longer and it is dropped. */
  writeTimeoutMs: number;
}

/**
 * `GET /api/stream`: Server-Sent Events with one `price` event per new record on the bus, as
 * `{id, ts, symbol, source, price_usd, volume_24h_usd, change_24h_pct}`. A client that does not
 * keep up is dropped, whatever the event rate: when more than `maxBuffered` events wait for it
 * (a fast feed), or when one write has waited `writeTimeoutMs` for it to read (a slow feed, or a
 * reader that stopped reading; its socket buffers are full). A dropped client's connection is
 * closed at once (its socket destroyed when a write is stuck), the drop is counted in
 * `/api/pipeline` (`live.dropped`) and `lake_query_live_clients_dropped_total`, and the page reconnects and
 * refills from the lake. Memory per client is bounded by `maxBuffered` events and the socket buffers.
 */
export function streamHandler(feed: LiveFeed, limits: StreamLimits) {
  return (c: Context) =>
    streamSSE(c, async (stream) => {
      const queue: PriceRecord[] = [];
      let wake: (() => void) | undefined;
      let dropped: string | undefined;
      let writing = false;
      const cut = () => {
        stream.abort();
        socketOf(c)?.destroy();
      };
      const drop = (reason: string, kind?: 'queue' | 'stalled') => {
        if (dropped) return;
        dropped = reason;
        if (kind) feed.countDrop(kind);
        // A write in flight waits for a client that does not read: only closing the socket ends it.
        if (writing) cut();
        wake?.();
      };
      const remove = feed.add({
        push(record) {
          if (queue.length >= limits.maxBuffered) drop(`more than ${limits.maxBuffered} events waiting: this client is too slow`, 'queue');
          else queue.push(record);
          wake?.();
        },
        drop: (reason) => drop(reason),
      });
      stream.onAbort(() => drop('the client went away'));
      const heartbeat = setInterval(() => wake?.(), HEARTBEAT_MS);
      /** One write, given up (and the client dropped) when the client has not taken it in time. */
      const send = async (write: (stream: SSEStreamingApi) => Promise<unknown>) => {
        writing = true;
        let timer: NodeJS.Timeout | undefined;
        const stalled = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            drop(`an event waited more than ${limits.writeTimeoutMs} ms for this client to read`, 'stalled');
            resolve();
          }, limits.writeTimeoutMs);
        });
        try {
          await Promise.race([write(stream), stalled]);
        } finally {
          clearTimeout(timer);
          writing = false;
        }
      };
      try {
        await send((s) => s.writeSSE({ event: 'hello', data: JSON.stringify({ live: feed.status().following }) }));
        while (!dropped && !stream.aborted) {
          if (queue.length === 0) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            if (queue.length === 0 && !dropped) await send((s) => s.write(': keep-alive\n\n'));
            continue;
          }
          const record = queue.shift()!;
          await send((s) => s.writeSSE({ event: 'price', id: record.id, data: JSON.stringify(liveTick(record)) }));
        }
        // The client is told why, when it is still reading; else its connection is simply cut.
        if (dropped && !stream.aborted) await send((s) => s.writeSSE({ event: 'error', data: JSON.stringify({ error: dropped }) }));
      } finally {
        clearInterval(heartbeat);
        remove();
        queue.length = 0;
      }
    });
}

/** The client's socket when served by @hono/node-server (`c.env.incoming`), for closing a stuck connection. */
function socketOf(c: Context): { destroy(): void } | undefined {
  const env = c.env as { incoming?: { socket?: { destroy(): void } } } | undefined;
  return env?.incoming?.socket;
}

/** The fields the page needs of a record. */
export function liveTick(record: PriceRecord) {
  return {
    id: record.id,
    ts: record.ts,
    symbol: record.symbol,
    source: record.source,
    price_usd: record.price_usd,
    volume_24h_usd: record.volume_24h_usd,
    change_24h_pct: record.change_24h_pct,
  };
}

import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { PriceRecord } from '../../core/records/price.ts';
import type { LiveFeed } from '../live-feed.ts';

/** Seconds between keep-alive comments, so proxies keep an idle stream open. */
const HEARTBEAT_MS = 15_000;

/**
 * `GET /api/stream`: Server-Sent Events with one `price` event per new record on the bus, as
 * `{id, ts, symbol, source, price_usd, volume_24h_usd, change_24h_pct}`. Each client has a queue
 * of at most `maxBuffered` events; a client that falls further behind is disconnected with an
 * `error` event (the page reconnects and refills from the lake), so no client can grow memory.
 */
export function streamHandler(feed: LiveFeed, maxBuffered: number) {
  return (c: Context) =>
    streamSSE(c, async (stream) => {
      const queue: PriceRecord[] = [];
      let wake: (() => void) | undefined;
      let dropped: string | undefined;
      const remove = feed.add({
        push(record) {
          if (queue.length >= maxBuffered) {
            dropped = `more than ${maxBuffered} events waiting: this client is too slow`;
          } else queue.push(record);
          wake?.();
        },
        drop(reason) {
          dropped = reason;
          wake?.();
        },
      });
      stream.onAbort(() => {
        dropped = 'the client went away';
        wake?.();
      });
      const heartbeat = setInterval(() => wake?.(), HEARTBEAT_MS);
      try {
        await stream.writeSSE({ event: 'hello', data: JSON.stringify({ live: feed.status().following }) });
        while (!dropped && !stream.aborted) {
          if (queue.length === 0) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            if (queue.length === 0 && !dropped) await stream.write(': keep-alive\n\n');
            continue;
          }
          const record = queue.shift()!;
          await stream.writeSSE({ event: 'price', id: record.id, data: JSON.stringify(liveTick(record)) });
        }
        if (dropped && !stream.aborted) await stream.writeSSE({ event: 'error', data: JSON.stringify({ error: dropped }) });
      } finally {
        clearInterval(heartbeat);
        remove();
      }
    });
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

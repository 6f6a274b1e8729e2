import type { Bus, Consumer } from '../core/ports/bus.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import { lakeQueryMetrics } from './lake-query-metrics.ts';
import { messageOf } from '../core/errors.ts';
import { validatePrice, type PriceRecord } from '../core/records/price.ts';

const decoder = new TextDecoder();

/** One listener of the live feed (an SSE client). `send` must not throw. */
export interface LiveClient {
  /** Called with each new price; the client queues it. */
  push(record: PriceRecord): void;
  /** Called when the feed drops the client (it fell too far behind) or stops. */
  drop(reason: string): void;
}

/**
 * Follows the prices topic from its end, in a consumer group of its own (nothing is committed:
 * a restart starts from the end again), and hands each valid record to every connected client.
 * It never slows the bus down: a client that cannot keep up is dropped by its own bounded queue.
 */
export class LiveFeed {
  private readonly clients = new Set<LiveClient>();
  private consumer: Consumer | undefined;
  private started: Promise<void> | undefined;
  private lastError: string | undefined;
  private received = 0;
  private dropped = 0;

  constructor(
    private readonly bus: Bus,
    private readonly topic: string,
    private readonly group: string,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** Joins the topic in the background; `ready()` resolves once joined (or failed, logged). */
  start(): void {
    const delivered = lakeQueryMetrics(this.metrics).livePrices;
    this.started ??= this.bus
      .consume({
        topics: [this.topic],
        group: this.group,
        from: 'latest',
        onBatch: async (batch) => {
          for (const message of batch.messages) {
            let parsed: unknown;
            try {
              parsed = JSON.parse(decoder.decode(message.value));
            } catch {
              continue;
            }
            const checked = validatePrice(parsed);
            if (!checked.ok) continue;
            this.received++;
            delivered.inc();
            for (const client of this.clients) client.push(checked.value);
          }
        },
      })
      .then((consumer) => {
        this.consumer = consumer;
        this.log.info({ topic: this.topic, group: this.group }, 'Following the prices topic for live updates');
      })
      .catch((error: unknown) => {
        this.lastError = messageOf(error);
        this.log.warn({ topic: this.topic, err: error }, 'Could not follow the prices topic; the page shows lake data only');
      });
  }

  /** Resolves once the consumer is in place or has failed. */
  async ready(): Promise<void> {
    await this.started;
  }

  add(client: LiveClient): () => void {
    this.clients.add(client);
    const gauge = lakeQueryMetrics(this.metrics).liveClients;
    gauge.set(this.clients.size);
    return () => {
      this.clients.delete(client);
      gauge.set(this.clients.size);
    };
  }

  /** Counts a client the server dropped for being too slow (`reason`: `queue` or `stalled`). */
  countDrop(reason: 'queue' | 'stalled'): void {
    this.dropped++;
    lakeQueryMetrics(this.metrics).liveClientsDropped.inc({ reason });
  }

  status(): { following: boolean; clients: number; received: number; dropped: number; error: string | null } {
    return {
      following: this.consumer !== undefined,
      clients: this.clients.size,
      received: this.received,
      dropped: this.dropped,
      error: this.lastError ?? null,
    };
  }

  async close(): Promise<void> {
    await this.started;
    for (const client of this.clients) client.drop('the server is stopping');
    this.clients.clear();
    await this.consumer?.close();
  }
}

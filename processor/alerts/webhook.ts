import { createHmac } from 'node:crypto';
import { LakeError, messageOf } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { Cache } from '../../core/ports/cache.ts';
import type { Alert } from '../../core/records/alert.ts';
import { retryWithinBudget, type RetryPolicy } from '../../core/retry.ts';
import { alertMetrics } from './alert-metrics.ts';

export interface WebhookOptions {
  url: string;
  /** Key of the HMAC-SHA256 signature header; unsigned without it. */
  secret?: string;
  /** Marks delivered alert ids, shared by replicas and restarts. */
  cache: Cache;
  log: Logger;
  metrics: Metrics;
  retry: RetryPolicy;
  timeoutMs: number;
  maxQueued: number;
  /** How long a delivered id is remembered, s. Default 7 days. */
  deliveredTtlSeconds?: number;
}

/** The `X-Cryptolake-Signature` value of a body: `sha256=<hex HMAC-SHA256 of the raw body>`. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The cache key that marks an alert delivered. */
export const deliveredKey = (id: string) => `alerts:webhook:delivered:${id}`;

/**
 * Sends alerts to one webhook, one call at a time, from a bounded queue: `enqueue` never waits,
 * so a webhook that is down never holds back evaluation. Each alert is POSTed as JSON with
 * `X-Cryptolake-Alert-Id` and (with a secret) `X-Cryptolake-Signature`; network errors, 429 and
 * 5xx are retried with jittered backoff, other 4xx are not. An alert is skipped when the cache
 * marks its id delivered, and marked after a 2xx: once per id across restarts and replicas,
 * except that a crash between the 2xx and the mark sends it again. An alert that fails every
 * retry, or finds the queue full, is dropped, counted and logged.
 */
export class WebhookSender {
  private readonly queue: Alert[] = [];
  private running: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly counts;
  readonly totals = { delivered: 0, skipped: 0, failed: 0, dropped: 0 };

  constructor(private readonly options: WebhookOptions) {
    this.log = options.log.child({ component: 'webhook' });
    const outcomes = alertMetrics(options.metrics).webhookCalls;
    this.counts = (outcome: keyof WebhookSender['totals']) => {
      this.totals[outcome] += 1;
      outcomes.inc({ outcome });
    };
  }

  /** Queues an alert; drops it (counted, logged) when the queue is full. */
  enqueue(alert: Alert): void {
    if (this.queue.length >= this.options.maxQueued) {
      this.counts('dropped');
      this.log.error({ id: alert.id, queued: this.queue.length }, 'Webhook queue full; dropped an alert without sending it');
      return;
    }
    this.queue.push(alert);
    this.running ??= this.work().finally(() => (this.running = undefined));
  }

  /** Alerts waiting or being sent. */
  get pending(): number {
    return this.queue.length;
  }

  /** Waits until the queue is empty or `timeoutMs` passed; what is left is logged and dropped. */
  async close(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([this.idle(), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout' && this.queue.length > 0) {
      this.log.error({ alerts: this.queue.length }, 'Stopping with alerts not sent to the webhook; they are dropped');
      this.queue.length = 0;
    }
  }

  /** Resolves when nothing is queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async work(): Promise<void> {
    for (let alert = this.queue[0]; alert; alert = this.queue[0]) {
      await this.deliver(alert);
      this.queue.shift();
    }
  }

  private async deliver(alert: Alert): Promise<void> {
    const { cache, deliveredTtlSeconds = 7 * 86_400 } = this.options;
    const key = deliveredKey(alert.id);
    // A cache that is down counts as a miss: better a second call than none.
    if ((await cache.get(key).catch(() => undefined)) !== undefined) {
      this.counts('skipped');
      return;
    }
    const body = JSON.stringify(alert);
    try {
      await retryWithinBudget(`POST ${this.options.url} for ${alert.id}`, () => this.post(alert.id, body), {
        ...this.options.retry,
        budgetMs: (this.options.retry.retries + 1) * (this.options.timeoutMs + this.options.retry.maxDelayMs),
        onRetry: (error, attempt) => this.log.warn({ id: alert.id, attempt, err: messageOf(error) }, 'Webhook call failed; trying again'),
      });
    } catch (error) {
      this.counts('failed');
      this.log.error({ id: alert.id, err: messageOf(error) }, 'Webhook call failed for good; the alert is not delivered');
      return;
    }
    this.counts('delivered');
    const marked = await cache.setIfAbsent(key, String(Date.now()), deliveredTtlSeconds).catch((error: unknown) => {
      this.log.warn({ id: alert.id, err: messageOf(error) }, 'Could not mark an alert delivered; a replay may send it again');
      return true;
    });
    if (!marked) this.log.warn({ id: alert.id }, 'Another sender delivered this alert at the same time');
  }

  private async post(id: string, body: string): Promise<void> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Cryptolake-Alert-Id': id };
    if (this.options.secret) headers['X-Cryptolake-Signature'] = webhookSignature(this.options.secret, body);
    let response: Response;
    try {
      response = await fetch(this.options.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (cause) {
      throw new LakeError('PROVIDER_NETWORK', `POST ${this.options.url}: ${messageOf(cause)}`, { cause });
    }
    await response.body?.cancel();
    if (response.ok) return;
    const retryable = response.status === 429 || response.status >= 500;
    throw new LakeError('PROVIDER_HTTP', `POST ${this.options.url}: HTTP ${response.status}`, { retryable });
  }
}

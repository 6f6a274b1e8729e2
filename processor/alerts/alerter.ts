import { LakeError, messageOf } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { Bus, Consumer, MessageBatch, TopicPartition } from '../../core/ports/bus.ts';
import type { Cache } from '../../core/ports/cache.ts';
import type { ObjectStore } from '../../core/ports/object-store.ts';
import type { Alert } from '../../core/records/alert.ts';
import { validatePrice } from '../../core/records/price.ts';
import type { RetryPolicy } from '../../core/retry.ts';
import { alertMetrics } from './alert-metrics.ts';
import { CheckpointStore } from './checkpoint.ts';
import { AlertEvaluator, emptyState } from './evaluator.ts';
import type { AlertRule } from './rules.ts';
import type { AlertSettings } from './settings.ts';
import { WebhookSender } from './webhook.ts';

export interface AlerterOptions {
  bus: Bus;
  store: ObjectStore;
  cache: Cache;
  rules: AlertRule[];
  config: Pick<AlertSettings, 'alertWebhookUrl' | 'alertWebhookSecret'> &
    Partial<Pick<AlertSettings, 'alertWebhookRetries' | 'alertWebhookTimeoutMs' | 'alertWebhookMaxQueued'>> & {
      /** The processor's group; the alerter's is `<kafkaGroup>-alerts`. */
      kafkaGroup: string;
      /** The prices topic. */
      kafkaTopic: string;
      alertsTopic: string;
    };
  log: Logger;
  metrics: Metrics;
  /** Stamps `raised_at`. */
  now?: () => number;
  /** Backoff of webhook retries (default 500 ms to 30 s). */
  webhookRetry?: Omit<RetryPolicy, 'retries'>;
}

/** What the alerter did since it started. */
export interface AlerterStatus {
  group: string;
  evaluated: number;
  invalid: number;
  raised: number;
  lastError: string | null;
  webhook: WebhookSender['totals'] | null;
}

/** A running alerter. */
export interface Alerter {
  start(): Promise<void>;
  /** Waits until every price published before the call was evaluated and committed (or `timeoutMs` passed). */
  drain(timeoutMs?: number): Promise<void>;
  /** Finishes the batch in flight, leaves the group, then gives the webhook up to 10 s to empty its queue. */
  stop(): Promise<void>;
  status(): AlerterStatus;
}

interface PartitionState {
  evaluator: AlertEvaluator;
  /** next offset to evaluate, as saved */
  next: number;
}

/**
 * The alerter: a consumer of the prices topic in its own group (`<KAFKA_GROUP>-alerts`) with one
 * evaluator per bus partition (a symbol's records share a partition). Per batch it evaluates,
 * publishes the alerts to the alerts topic, saves the evaluator's state with the next offset,
 * and only then commits. When it is given a partition it restores the saved state and starts
 * reading where that state ends. So no alert is lost, and a crash before the save replays the
 * batch from the previous state: the same alerts with the same ids, published again, which the
 * lake view, the API and the webhook dedupe by id.
 */
export function createAlerter(options: AlerterOptions): Alerter {
  const { bus, rules, config } = options;
  const log = options.log.child({ component: 'alerter' });
  const now = options.now ?? Date.now;
  const group = `${config.kafkaGroup}-alerts`;
  const checkpoints = new CheckpointStore(options.store, group, config.kafkaTopic);
  const partitions = new Map<number, PartitionState>();
  const handlers = new Set<Promise<void>>();
  const totals = { evaluated: 0, invalid: 0, raised: 0 };
  const { evaluated: evaluatedCount, raised: raisedCount } = alertMetrics(options.metrics);
  for (const rule of rules) raisedCount.inc({ rule: rule.id }, 0);
  const webhook = config.alertWebhookUrl
    ? new WebhookSender({
        url: config.alertWebhookUrl,
        secret: config.alertWebhookSecret,
        cache: options.cache,
        log,
        metrics: options.metrics,
        retry: { retries: config.alertWebhookRetries ?? 5, minDelayMs: 500, maxDelayMs: 30_000, ...options.webhookRetry },
        timeoutMs: config.alertWebhookTimeoutMs ?? 5_000,
        maxQueued: config.alertWebhookMaxQueued ?? 1_000,
      })
    : undefined;
  let consumer: Consumer | undefined;
  let state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  let stopping: Promise<void> | undefined;
  let lastError: string | null = null;

  /** A fresh evaluator for the partition, restored from its checkpoint when there is one. */
  async function restore(partition: number): Promise<{ part: PartitionState; saved: boolean }> {
    const saved = await checkpoints.load(partition);
    const part = { evaluator: new AlertEvaluator(rules, saved?.state ?? emptyState(), now), next: saved?.nextOffset ?? 0 };
    partitions.set(partition, part);
    if (saved) log.info({ partition, nextOffset: saved.nextOffset }, 'Restored the alert state of a partition');
    return { part, saved: saved !== undefined };
  }

  /** Start offsets of newly given partitions: where their saved state ends (else the group's commit). */
  async function assigned(given: TopicPartition[]): Promise<Map<string, number>> {
    const starts = new Map<string, number>();
    for (const { topic, partition } of given) {
      const { part, saved } = await restore(partition);
      if (saved) starts.set(`${topic}:${partition}`, part.next);
    }
    return starts;
  }

  async function handle(batch: MessageBatch): Promise<void> {
    if (state !== 'running') throw new LakeError('BUS_CLOSED', `the alerter is ${state}; ${batch.topic}/${batch.partition} comes again`);
    const range = `${batch.topic}/${batch.partition} from offset ${batch.messages[0]?.offset}`;
    try {
      // None after a failed batch: the replay restores the saved state.
      const part = partitions.get(batch.partition) ?? (await restore(batch.partition)).part;
      const messages = batch.messages.filter((message) => message.offset >= part.next);
      if (messages.length > 0) {
        const alerts: Alert[] = [];
        for (const message of messages) {
          const record = parsePrice(message.value);
          if (!record) {
            // The processor dead-letters it; here it only cannot be evaluated.
            totals.invalid += 1;
            continue;
          }
          alerts.push(...part.evaluator.evaluate(record));
        }
        if (alerts.length > 0) {
          await bus.publish(
            config.alertsTopic,
            alerts.map((alert) => ({ key: alert.symbol, value: JSON.stringify(alert) })),
          );
        }
        const next = messages.at(-1)!.offset + 1;
        // Save before commit: a crash in between replays messages the state already covers, and they are skipped.
        await checkpoints.save(batch.partition, { nextOffset: next, state: part.evaluator.snapshot(), savedAt: now() });
        part.next = next;
        totals.evaluated += messages.length;
        totals.raised += alerts.length;
        evaluatedCount.inc(messages.length);
        for (const alert of alerts) {
          raisedCount.inc({ rule: alert.rule });
          webhook?.enqueue(alert);
        }
        if (alerts.length > 0) log.debug({ range, alerts: alerts.length }, 'Raised alerts');
      }
      await consumer!.commit([{ topic: batch.topic, partition: batch.partition, nextOffset: part.next }]);
    } catch (error) {
      // The evaluator may be ahead of what was saved: forget it, the replay restores the saved state.
      partitions.delete(batch.partition);
      lastError = `evaluating ${range}: ${messageOf(error)}`;
      if (state === 'running') log.warn({ range, err: messageOf(error) }, 'Alert evaluation failed; the batch is read again from the bus');
      throw error;
    }
  }

  async function caughtUp(ends: Map<number, number>): Promise<boolean> {
    const committed = await bus.committedOffsets(group, config.kafkaTopic);
    return [...ends].every(([partition, end]) => end === 0 || (committed.get(partition) ?? 0) >= end);
  }

  return {
    async start() {
      if (state !== 'new') throw new LakeError('BUS_CLOSED', `cannot start an alerter that is ${state}`);
      state = 'running';
      consumer = await bus.consume({
        topics: [config.kafkaTopic],
        group,
        from: 'earliest',
        onAssigned: assigned,
        onBatch: (batch) => {
          const handled = handle(batch);
          handlers.add(handled);
          return handled.finally(() => handlers.delete(handled));
        },
        onRevoked: (revoked) => {
          for (const { partition } of revoked) partitions.delete(partition);
        },
      });
      log.info({ rules: rules.map((rule) => rule.id), group, topic: config.kafkaTopic, to: config.alertsTopic }, 'Alerter started');
    },

    async drain(timeoutMs = 30_000) {
      const ends = await bus.endOffsets(config.kafkaTopic);
      const deadline = Date.now() + timeoutMs;
      while (!(await caughtUp(ends))) {
        if (Date.now() > deadline) {
          log.warn({ timeoutMs }, 'Alerter drain timed out before every published price was evaluated');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },

    stop() {
      stopping ??= (async () => {
        if (state !== 'running') {
          state = 'stopped';
          return;
        }
        consumer?.setPaused(true);
        await Promise.allSettled([...handlers]);
        state = 'stopping';
        await consumer?.close();
        await webhook?.close();
        state = 'stopped';
        log.info({ ...totals, webhook: webhook?.totals }, 'Alerter stopped');
      })();
      return stopping;
    },

    status: () => ({ group, ...totals, lastError, webhook: webhook ? { ...webhook.totals } : null }),
  };
}

const decoder = new TextDecoder();

function parsePrice(value: Uint8Array) {
  try {
    const validated = validatePrice(JSON.parse(decoder.decode(value)));
    return validated.ok ? validated.value : undefined;
  } catch {
    return undefined;
  }
}

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../../core/adapters/memory/bus.ts';
import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import { LocalObjectStore } from '../../core/adapters/local-fs/object-store.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import type { Bus, ConsumeOptions, Consumer } from '../../core/ports/bus.ts';
import type { ObjectStore } from '../../core/ports/object-store.ts';
import { alertId } from '../../core/records/alert.ts';
import type { PriceRecord } from '../../core/records/price.ts';
import { StatusBoard } from '../../core/status-board.ts';
import { waitFor } from '../../core/testing/wait.ts';
import { createAlerter, type Alerter } from '../../processor/alerts/alerter.ts';
import { AlertRules, type AlertRule } from '../../processor/alerts/rules.ts';
import { minuteFileRecords } from '../../processor/alerts/testing/minute-file.ts';
import { createProcessor } from '../../processor/processor.ts';
import { tempLake } from '../../processor/testing/lake-reader.ts';
import { createApp } from '../../lake-query/http/app.ts';
import { Lake } from '../../lake-query/lake.ts';
import { createLakeQueries } from '../../lake-query/queries.ts';

/** The first `days` days of a real minute file's closes as BTC records from `binanceus`. */
function realPrices(days: number): PriceRecord[] {
  const records = minuteFileRecords('binanceus_BTCUSDT_1m_20230301_20230321.csv', 'binanceus');
  return records.filter((record) => record.ts < records[0]!.ts + days * 86_400_000);
}

// On the one source's own series (the composite's rule is the evaluator's tests' concern).
const rules: AlertRule[] = AlertRules.parse([
  { id: 'btc-22k', type: 'price_cross', level: 22_000, source: 'binanceus', cooldownMs: 0 },
  { id: 'move-1pct-30m', type: 'move', pct: 1, windowMs: 30 * 60_000, source: 'binanceus', cooldownMs: 60 * 60_000 },
]);

/** The alert ids the rules mean on the whole series, computed directly (no incremental state). */
function expectedIds(series: PriceRecord[]): string[] {
  const ids: string[] = [];
  for (const rule of rules) {
    let last: number | undefined;
    for (let i = 1; i < series.length; i++) {
      const { ts, price_usd: price } = series[i]!;
      let hit = false;
      if (rule.type === 'price_cross') {
        const previous = series[i - 1]!.price_usd;
        hit = (previous < rule.level && price >= rule.level) || (previous > rule.level && price <= rule.level);
      } else if (rule.type === 'move') {
        const reference = series.slice(0, i).find((point) => point.ts >= ts - rule.windowMs);
        hit = reference !== undefined && Math.abs((price / reference.price_usd - 1) * 100) >= rule.pct;
      }
      if (hit && (last === undefined || ts - last >= rule.cooldownMs)) {
        last = ts;
        ids.push(alertId(rule.id, 'BTC', 'binanceus', ts));
      }
    }
  }
  return ids.sort();
}

const config = { kafkaGroup: 'test', kafkaTopic: 'prices', deadLetterTopic: 'prices.dead-letter', alertsTopic: 'alerts' };

/** A lake folder, a bus and the processor writing prices, dead letters and alerts into it. */
async function pipeline() {
  const { root, location, cleanup } = await tempLake();
  const bus = new MemoryBus({ partitions: 3, retryDelayMs: 0, maxBatchMessages: 500 });
  const store = new LocalObjectStore(root);
  const cache = new MemoryCache();
  const metrics = new Metrics();
  const processor = createProcessor({
    bus,
    lake: location,
    cache,
    config: {
      ...config,
      tradesTopic: 'trades',
      gapsTopic: 'gaps',
      flushIntervalMs: 100,
      flushMaxRecords: 5_000,
      maxBufferedBytes: 256 * 1024 * 1024,
      writerMemoryLimit: '256MB',
      writerThreads: 1,
    },
    log: silentLogger,
    metrics,
  });
  await processor.start();
  const alerter = (options: { bus?: Bus; store?: ObjectStore } = {}) =>
    createAlerter({
      bus: options.bus ?? bus,
      store: options.store ?? store,
      cache,
      rules,
      config: { ...config, alertWebhookUrl: undefined, alertWebhookSecret: undefined },
      log: silentLogger,
      metrics: new Metrics(),
    });
  return {
    root,
    bus,
    store,
    alerter,
    async publish(records: PriceRecord[]) {
      await bus.publish(
        'prices',
        records.map((record) => ({ key: record.symbol, value: JSON.stringify(record) })),
      );
    },
    /** Stops the processor after it wrote everything, then answers `/api/alerts` and counts the stored rows. */
    async finish(): Promise<{ ids: string[]; storedRows: number; duplicates: number; raw: unknown }> {
      await processor.drain(30_000);
      await processor.stop();
      const duplicates = processor.status().duplicatesDropped;
      const lake = await Lake.open(
        location,
        { queryTimeoutMs: 10_000, memoryLimit: '256MB', threads: 1, connections: 1 },
        silentLogger,
        metrics,
      );
      try {
        const app = createApp({
          queries: createLakeQueries(lake),
          lake,
          checks: {},
          statusBoard: new StatusBoard(cache),
          metrics,
          dashboardDir: root,
          synthetic: false,
          log: silentLogger,
        });
        const response = await app.request('/api/alerts?symbol=BTC&limit=1000');
        assert.equal(response.status, 200);
        const raw = (await response.json()) as { alerts: { id: string; ts: number }[] };
        const [{ n }] = (await lake.query('count', `SELECT count(*)::INTEGER AS n FROM alerts`)) as [{ n: number }];
        return { ids: raw.alerts.map((alert) => alert.id), storedRows: n, duplicates, raw };
      } finally {
        await lake.close();
        await bus.close();
      }
    },
    async remove() {
      await cleanup();
    },
  };
}

async function evaluateAll(alerter: Alerter): Promise<void> {
  await alerter.start();
  await alerter.drain(30_000);
  await alerter.stop();
}

describe('alerts through bus, alerter, processor and lake', () => {
  const records = realPrices(7);
  const expected = expectedIds(records);
  const roots: (() => Promise<void>)[] = [];
  after(async () => {
    for (const remove of roots) await remove();
  });

  it('raises on a week of real BTC minutes exactly the alerts a direct computation predicts, served by /api/alerts', async () => {
    assert.ok(expected.length > 10 && expected.length < 1_000, `${expected.length} expected alerts`);
    const run = await pipeline();
    roots.push(run.remove);
    await run.publish(records);
    await evaluateAll(run.alerter());
    const { ids, storedRows, raw } = await run.finish();
    assert.deepEqual([...ids].sort(), expected);
    assert.equal(storedRows, expected.length, 'each alert stored once when nothing crashed');
    const alerts = (raw as { alerts: { ts: number }[] }).alerts;
    assert.ok(
      alerts.every((alert, i) => i === 0 || alerts[i - 1]!.ts >= alert.ts),
      'newest first',
    );
  });

  it('neither repeats nor loses an alert when a state save and a commit fail mid-stream and the alerter restarts', async () => {
    const run = await pipeline();
    roots.push(run.remove);
    // Published in small batches, so a failure lands in the middle of the stream.
    for (let i = 0; i < records.length; i += 500) await run.publish(records.slice(i, i + 500));

    // The first alerter "crashes": the state save of the first batch that raised alerts fails after
    // they were published, and from then on every save fails, as for a process that died there.
    let published = false;
    let dead = false;
    let saves = 0;
    const publishingBus: Bus = Object.create(run.bus, {
      publish: {
        value: async (topic: string, messages: { key: string; value: string }[]) => {
          if (topic === 'alerts') published = true;
          return run.bus.publish(topic, messages);
        },
      },
    }) as Bus;
    const failingStore: ObjectStore = Object.create(run.store, {
      put: {
        value: async (key: string, body: Uint8Array) => {
          if (key.startsWith('_alerts/')) {
            saves += 1;
            dead ||= published;
            if (dead) throw new Error('injected: the process died while saving');
          }
          return run.store.put(key, body);
        },
      },
    }) as ObjectStore;
    const crashed = run.alerter({ bus: publishingBus, store: failingStore });
    await crashed.start();
    await waitFor(() => dead && saves >= 2, 10_000, 'the failing save to be retried');
    await crashed.stop();
    assert.ok(published, 'the crashed alerter published alerts before it died');

    // The second alerter saves its state and then fails to commit once: the replay must skip what was saved.
    let commitFailed = false;
    const flakyBus: Bus = Object.create(run.bus, {
      consume: {
        value: async (options: ConsumeOptions) => {
          const consumer = await run.bus.consume(options);
          const flaky: Consumer = Object.create(consumer, {
            commit: {
              value: async (offsets: Parameters<Consumer['commit']>[0]) => {
                if (!commitFailed && offsets.some((offset) => offset.nextOffset > 2_000)) {
                  commitFailed = true;
                  throw new Error('injected: commit failed');
                }
                return consumer.commit(offsets);
              },
            },
          }) as Consumer;
          return flaky;
        },
      },
    }) as Bus;
    await evaluateAll(run.alerter({ bus: flakyBus }));
    assert.ok(commitFailed, 'a commit failed');

    const { ids, storedRows, duplicates } = await run.finish();
    assert.ok(duplicates > 0, 'the crash published some alerts twice');
    assert.equal(storedRows, expected.length, 'the lake keeps each alert once: the second copy was dropped at commit');
    assert.equal(new Set(ids).size, ids.length, 'each id once in /api/alerts');
    assert.deepEqual([...ids].sort(), expected);
  });
});

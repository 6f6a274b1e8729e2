import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaBus } from '../../core/adapters/kafka/bus.ts';
import { openAdapters } from '../../core/adapters/select.ts';
import { silentLogger } from '../../core/log.ts';
import { toPriceRecord } from '../../core/records/price.ts';
import { uniqueName, waitFor } from '../../core/testing/wait.ts';
import { lakeReader } from '../support/pipeline.ts';
import { startPart } from '../support/process.ts';
import { isolatedLake, stack } from '../support/stack.ts';

describe('a processor run on its own, on Kafka and MinIO', () => {
  it('reports readiness, and on SIGTERM writes what it buffered, commits, and exits 0', async () => {
    const services = await stack();
    const env = {
      ...services,
      KAFKA_TOPIC: uniqueName('stop-prices'),
      DEAD_LETTER_TOPIC: uniqueName('stop-dead'),
      KAFKA_GROUP: uniqueName('stop-group'),
      ...isolatedLake('stop'),
      // Nothing is written before the stop: what lands in the bucket was flushed by SIGTERM.
      FLUSH_INTERVAL_MS: '600000',
      HEALTH_PORT: '0',
    };
    const bus = new KafkaBus({ brokers: services.KAFKA_BROKERS.split(','), log: silentLogger });
    const start = Date.UTC(2026, 10, 22, 23, 59, 0);
    const records = Array.from({ length: 300 }, (_, i) =>
      toPriceRecord({ source: 'synthetic', symbol: ['BTC', 'ETH', 'SOL'][i % 3]!, ts: start + i * 1000, price_usd: 100 + i }, start),
    );
    await bus.publish(
      env.KAFKA_TOPIC,
      records.map((record) => ({ key: record.symbol, value: JSON.stringify(record) })),
    );

    const processor = startPart('processor/main.ts', env);
    try {
      const running = await waitFor(() => processor.logs.find((line) => line.msg === 'processor is running'), 60_000, 'the start line');
      const healthUrl = `http://127.0.0.1:${String(running.healthPort)}/health`;
      await waitFor(
        async () => {
          const response = await fetch(healthUrl);
          const body = (await response.json()) as { status: { bufferedRecords: number } };
          return response.status === 200 && body.status.bufferedRecords === records.length;
        },
        60_000,
        'every record buffered',
      );
    } finally {
      processor.kill('SIGTERM');
    }
    assert.equal(await processor.exited, 0, processor.stderr());

    const committed = await bus.committedOffsets(env.KAFKA_GROUP, env.KAFKA_TOPIC);
    const ends = await bus.endOffsets(env.KAFKA_TOPIC);
    assert.deepEqual([...committed].sort(), [...ends].filter(([, end]) => end > 0).sort(), 'every partition committed to its end');
    await bus.close();

    const adapters = await openAdapters(env, silentLogger);
    const { db, close } = await lakeReader(adapters.lake);
    try {
      const rows = (
        await db.runAndReadAll(`SELECT day(ts) AS day, count(*)::INTEGER AS n FROM prices GROUP BY 1 ORDER BY 1`)
      ).getRowObjectsJS();
      // The records straddle midnight UTC: 60 on the 22nd, the rest on the 23rd.
      assert.deepEqual(rows, [
        { day: 22n, n: 60 },
        { day: 23n, n: 240 },
      ]);
    } finally {
      close();
      await adapters.close();
    }
  });
});

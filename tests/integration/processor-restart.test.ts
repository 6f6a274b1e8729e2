import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaBus } from '../../core/adapters/kafka/bus.ts';
import { silentLogger } from '../../core/log.ts';
import { toPriceRecord } from '../../core/records/price.ts';
import { uniqueName, waitFor } from '../../core/testing/wait.ts';
import { startPart, type PartProcess } from '../support/process.ts';
import { isolatedLake, stack } from '../support/stack.ts';

/** How many records the processor of `part` holds, once it reports its health. */
async function buffered(part: PartProcess): Promise<number> {
  const running = part.logs.find((line) => line.msg === 'processor is running');
  if (!running) return -1;
  const response = await fetch(`http://127.0.0.1:${String(running.healthPort)}/health`).catch(() => undefined);
  if (!response?.ok) return -1;
  return ((await response.json()) as { status: { bufferedRecords: number } }).status.bufferedRecords;
}

describe('a processor restarted after a SIGKILL, on Kafka and MinIO', () => {
  it('consumes again within 10 s of coming back when it has a KAFKA_INSTANCE_ID', { timeout: 180_000 }, async (t) => {
    const services = await stack();
    const env = {
      ...services,
      KAFKA_TOPIC: uniqueName('restart-prices'),
      DEAD_LETTER_TOPIC: uniqueName('restart-dead'),
      KAFKA_GROUP: uniqueName('restart-group'),
      KAFKA_INSTANCE_ID: uniqueName('processor'),
      ...isolatedLake('restart'),
      // Nothing is written or committed: the restarted processor reads every record again.
      FLUSH_INTERVAL_MS: '600000',
      HEALTH_PORT: '0',
    };
    const bus = new KafkaBus({ brokers: services.KAFKA_BROKERS.split(','), log: silentLogger });
    const start = Date.UTC(2026, 10, 22, 12);
    const records = Array.from({ length: 300 }, (_, i) =>
      toPriceRecord({ source: 'synthetic', symbol: ['BTC', 'ETH', 'SOL'][i % 3]!, ts: start + i * 1000, price_usd: 100 + i }, start),
    );
    await bus.publish(
      env.KAFKA_TOPIC,
      records.map((record) => ({ key: record.symbol, value: JSON.stringify(record) })),
    );
    await bus.close();

    const killed = startPart('processor/main.ts', env);
    let restarted: PartProcess | undefined;
    try {
      await waitFor(async () => (await buffered(killed)) === records.length, 60_000, 'the first processor to hold every record');
      killed.kill('SIGKILL');
      const killedAt = Date.now();
      await killed.exited;
      restarted = startPart('processor/main.ts', env);
      await waitFor(async () => (await buffered(restarted!)) === records.length, 60_000, 'the restarted processor to read every record');
      const readAt = Date.now();
      // The group's part is from the moment the new process is up (its first log line: modules
      // loaded, the lake and the bus being opened) to holding every record; loading the code is
      // the machine's part, and on a busy machine it alone can take seconds.
      const firstLog = restarted.logs[0]?.time;
      const upAt = typeof firstLog === 'string' ? Date.parse(firstLog) : killedAt;
      const seconds = (readAt - upAt) / 1000;
      t.diagnostic(
        `the restarted processor read every record ${(readAt - killedAt) / 1000} s after the SIGKILL, ${seconds} s after it was up`,
      );
      assert.ok(seconds < 10, `the restarted processor read every record ${seconds} s after it was up`);
    } finally {
      killed.kill('SIGKILL');
      restarted?.kill('SIGTERM');
      if (restarted) assert.equal(await restarted.exited, 0, restarted.stderr());
    }
  });
});

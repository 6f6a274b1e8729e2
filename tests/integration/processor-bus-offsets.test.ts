import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaBus } from '../../core/adapters/kafka/bus.ts';
import { silentLogger } from '../../core/log.ts';
import { toPriceRecord } from '../../core/records/price.ts';
import { uniqueName, waitFor } from '../../core/testing/wait.ts';
import { startPart } from '../support/process.ts';
import { isolatedLake, stack } from '../support/stack.ts';

/** True when `group` has committed the end offset of every partition of `topic` (an empty one needs none). */
async function caughtUp(bus: KafkaBus, group: string, topic: string): Promise<boolean> {
  const [ends, committed] = await Promise.all([bus.endOffsets(topic), bus.committedOffsets(group, topic)]);
  return [...ends].every(([partition, end]) => (committed.get(partition) ?? 0) === end);
}

describe('the bus offsets of a processor group, on Kafka and MinIO', () => {
  it(
    'records the lake offsets on the bus when a member is given partitions the lake already holds whole',
    { timeout: 180_000 },
    async () => {
      const services = await stack();
      const env = {
        ...services,
        KAFKA_TOPIC: uniqueName('offsets-prices'),
        DEAD_LETTER_TOPIC: uniqueName('offsets-dead'),
        ...isolatedLake('offsets'),
        FLUSH_INTERVAL_MS: '200',
        HEALTH_PORT: '0',
      };
      const bus = new KafkaBus({ brokers: services.KAFKA_BROKERS.split(','), log: silentLogger });
      try {
        const start = Date.UTC(2026, 10, 22, 12);
        const records = Array.from({ length: 300 }, (_, i) =>
          toPriceRecord({ source: 'synthetic', symbol: ['BTC', 'ETH', 'SOL'][i % 3]!, ts: start + i * 1000, price_usd: 100 + i }, start),
        );
        await bus.publish(
          env.KAFKA_TOPIC,
          records.map((record) => ({ key: record.symbol, value: JSON.stringify(record) })),
        );
        // The first group writes everything to the lake and records it on the bus.
        const firstGroup = uniqueName('offsets-first');
        const first = startPart('processor/main.ts', { ...env, KAFKA_GROUP: firstGroup });
        try {
          await waitFor(() => caughtUp(bus, firstGroup, env.KAFKA_TOPIC), 90_000, 'the first group to commit the topic');
        } finally {
          first.kill('SIGTERM');
          assert.equal(await first.exited, 0, first.stderr());
        }
        // A member whose group has no offsets on the bus (as after a commit lost to a rebalance)
        // starts at the lake's offsets, at the end: it consumes nothing, and still records them.
        const secondGroup = uniqueName('offsets-second');
        const second = startPart('processor/main.ts', { ...env, KAFKA_GROUP: secondGroup });
        try {
          await waitFor(() => caughtUp(bus, secondGroup, env.KAFKA_TOPIC), 30_000, 'the second group to record the lake offsets');
        } finally {
          second.kill('SIGTERM');
          assert.equal(await second.exited, 0, second.stderr());
        }
      } finally {
        await bus.close();
      }
    },
  );
});

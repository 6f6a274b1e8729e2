import { after } from 'node:test';
import type { MemoryBus } from '../../../core/adapters/memory/bus.ts';

const decoder = new TextDecoder();

/**
 * Every message published on `topic` of the memory bus, parsed, in a list that fills as they come;
 * the consumer leaves when the test file ends.
 */
export async function follow<T>(bus: MemoryBus, topic: string, parse: (value: unknown) => T): Promise<T[]> {
  const seen: T[] = [];
  const consumer = await bus.consume({
    topics: [topic],
    group: `test-${topic}`,
    async onBatch(batch) {
      for (const message of batch.messages) seen.push(parse(JSON.parse(decoder.decode(message.value))));
      await consumer.commit([{ topic, partition: batch.partition, nextOffset: batch.messages.at(-1)!.offset + 1 }]);
    },
  });
  after(() => consumer.close());
  return seen;
}

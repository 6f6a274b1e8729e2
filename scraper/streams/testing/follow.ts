import { after } from 'node:test';
import type { MemoryBus } from '../../../core/adapters/memory/bus.ts';

/**
 * Every message published on `topic` of the memory bus, parsed, in a list that fills as they come;
 * the subscription closes when the test file ends.
 */
export async function follow<T>(bus: MemoryBus, topic: string, parse: (value: unknown) => T): Promise<T[]> {
  const seen: T[] = [];
  const subscription = await bus.subscribe({
    topic,
    group: `test-${topic}`,
    async onBatch(batch) {
      for (const message of batch.messages) seen.push(parse(JSON.parse(message.value)));
      await subscription.commit(batch.partition, batch.messages.at(-1)!.offset + 1);
    },
  });
  after(() => subscription.close());
  return seen;
}

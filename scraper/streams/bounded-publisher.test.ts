import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../core/log.ts';
import { BoundedPublisher, type Outbound } from './bounded-publisher.ts';

/** A bus that records what it accepted and fails or holds publishes when told to. */
function recordingBus() {
  const accepted: { topic: string; value: string }[] = [];
  const control = { failNext: 0, failTopic: undefined as string | undefined, hold: undefined as Promise<void> | undefined };
  return {
    accepted,
    control,
    async publish(topic: string, messages: { key: string; value: string }[]) {
      if (control.hold) await control.hold;
      if (control.failNext > 0 && (control.failTopic === undefined || control.failTopic === topic)) {
        control.failNext -= 1;
        throw new Error('broker not available');
      }
      for (const message of messages) accepted.push({ topic, value: message.value });
    },
  };
}

const messages = (topic: string, from: number, count: number): Outbound[] =>
  Array.from({ length: count }, (_, index) => ({ topic, key: 'k', value: String(from + index) }));

test('every message reaches the bus once, in order, across failed publishes', async () => {
  const bus = recordingBus();
  bus.control.failNext = 3;
  const publisher = new BoundedPublisher({
    bus,
    log: silentLogger,
    maxBuffered: 1_000,
    onPressure: () => undefined,
    batchSize: 7,
    retryDelayMs: 1,
  });
  publisher.offer(messages('trades', 0, 50));
  publisher.offer(messages('trades', 50, 50));
  await publisher.drained();
  assert.deepEqual(
    bus.accepted.map((message) => Number(message.value)),
    Array.from({ length: 100 }, (_, index) => index),
  );
  assert.equal(publisher.publishedCount, 100);
});

test('a batch whose second topic failed is not published again to the first', async () => {
  const bus = recordingBus();
  bus.control.failNext = 2;
  bus.control.failTopic = 'gaps';
  const publisher = new BoundedPublisher({ bus, log: silentLogger, maxBuffered: 1_000, onPressure: () => undefined, retryDelayMs: 1 });
  publisher.offer([...messages('trades', 0, 5), ...messages('gaps', 100, 2)]);
  await publisher.drained();
  assert.equal(bus.accepted.filter((message) => message.topic === 'trades').length, 5);
  assert.equal(bus.accepted.filter((message) => message.topic === 'gaps').length, 2);
});

test('a full buffer asks producers to stop, and lets them go on once it is down to half', async () => {
  const bus = recordingBus();
  let release!: () => void;
  bus.control.hold = new Promise((resolve) => (release = resolve));
  const pressure: boolean[] = [];
  const publisher = new BoundedPublisher({
    bus,
    log: silentLogger,
    maxBuffered: 10,
    onPressure: (high) => pressure.push(high),
    batchSize: 4,
  });
  publisher.offer(messages('trades', 0, 9));
  assert.deepEqual(pressure, []);
  publisher.offer(messages('trades', 9, 3));
  assert.deepEqual(pressure, [true]);
  let roomy = false;
  const room = publisher.waitForRoom().then(() => (roomy = true));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(roomy, false, 'no room while the bus holds everything');
  bus.control.hold = undefined;
  release();
  await room;
  await publisher.drained();
  assert.deepEqual(pressure, [true, false]);
  assert.equal(bus.accepted.length, 12);
});

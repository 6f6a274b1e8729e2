import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBus } from '../../core/adapters/memory/bus.ts';
import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import { silentLogger } from '../../core/log.ts';
import { BoundedPublisher } from './bounded-publisher.ts';
import { StreamCheckpoints, type TradeMark } from './checkpoints.ts';
import { MarkKeeper } from './mark-keeper.ts';

test('a mark is shared only once the bus holds every message offered before it was read', async () => {
  const bus = new MemoryBus({ partitions: 1 });
  let release: (() => void) | undefined;
  let hold: Promise<void> | undefined;
  const publisher = new BoundedPublisher({
    bus: {
      publish: async (topic, messages) => {
        await hold;
        return bus.publish(topic, messages);
      },
    },
    log: silentLogger,
    maxBuffered: 1_000,
    onPressure: () => undefined,
  });
  const checkpoints = new StreamCheckpoints(new MemoryCache(), 'replica', 'trades');
  let mark: TradeMark = { tradeId: 10, ts: 100 };
  const keeper = new MarkKeeper({
    checkpoints,
    publisher,
    sources: [{ venue: 'binance', marks: () => new Map([['BTCUSDT', mark]]) }],
    log: silentLogger,
  });

  await keeper.tick();
  assert.deepEqual(await checkpoints.load('binance', 'BTCUSDT'), { tradeId: 10, ts: 100 }, 'nothing was waiting: shared at once');

  hold = new Promise((resolve) => (release = resolve));
  publisher.offer([{ topic: 'trades', key: 'binance:BTCUSDT', value: '11' }]);
  mark = { tradeId: 11, ts: 110 };
  await keeper.tick();
  await keeper.tick();
  assert.deepEqual(await checkpoints.load('binance', 'BTCUSDT'), { tradeId: 10, ts: 100 }, 'trade 11 is not on the bus yet');

  hold = undefined;
  release!();
  await publisher.drained();
  await keeper.tick();
  assert.deepEqual(await checkpoints.load('binance', 'BTCUSDT'), { tradeId: 11, ts: 110 });
  assert.deepEqual([...(await bus.endOffsets('trades')).values()], [1], 'the bus holds trade 11');
});

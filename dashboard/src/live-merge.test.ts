import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Candle, Tick } from './api.ts';
import { LiveMerge, applyTick } from './live-merge.ts';

const tick = (id: string, ts: number, price: number): Tick => ({
  id,
  ts,
  symbol: 'BTC',
  source: 's',
  price_usd: price,
  volume_24h_usd: null,
  change_24h_pct: null,
});

describe('live merge', () => {
  it('updates the last candle, then opens a new one when a tick crosses into the next bucket', () => {
    const candles: Candle[] = [{ time: 60_000, open: 10, high: 12, low: 9, close: 11, count: 3 }];
    applyTick(candles, tick('a', 90_000, 13), 60_000);
    assert.deepEqual(
      candles.map((c) => [c.time, c.open, c.high, c.low, c.close, c.count]),
      [[60_000, 10, 13, 9, 13, 4]],
    );
    applyTick(candles, tick('b', 125_000, 8), 60_000);
    assert.deepEqual(
      candles.map((c) => [c.time, c.open, c.high, c.low, c.close]),
      [
        [60_000, 10, 13, 9, 13],
        [120_000, 8, 8, 8, 8],
      ],
    );
  });

  it('admits each id once and forgets held ticks the lake now holds', () => {
    const merge = new LiveMerge();
    assert.equal(merge.admit(tick('a', 1, 1)), true);
    assert.equal(merge.admit(tick('a', 1, 1)), false);
    merge.hold(tick('a', 1_000, 1));
    merge.hold(tick('b', 2_000, 1));
    assert.deepEqual(
      merge.newerThan('BTC', 1_000).map((t) => t.id),
      ['b'],
    );
    assert.deepEqual(merge.newerThan('ETH', 0), []);
  });
});

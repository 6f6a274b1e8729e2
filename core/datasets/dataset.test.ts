import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { aggregates, candles1h, candles1m, mergeRule, tradeCandles1m } from './index.ts';

describe('mergeRule', () => {
  it("reads each column's aggregate from a rollup's merge, the coarser grains' as well", () => {
    assert.deepEqual(mergeRule(candles1m, ['close', 'ticks']), { close: 'arg_max(close, close_ts)', ticks: 'sum(ticks)::BIGINT' });
    assert.deepEqual(mergeRule(candles1h, ['open']), { open: 'arg_min(open, open_ts)' });
    assert.equal(aggregates(mergeRule(tradeCandles1m, ['high', 'low'])), 'max(high) AS high, min(low) AS low');
  });

  it('refuses a column the rollup does not merge, and a group column (it has no aggregate)', () => {
    assert.throws(() => mergeRule(candles1m, ['price_usd']), /candles_1m merges no column price_usd/);
    assert.throws(() => mergeRule(candles1m, ['symbol']), /candles_1m merges no column symbol/);
  });
});

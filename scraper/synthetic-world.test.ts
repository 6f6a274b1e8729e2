import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SyntheticWorld } from './synthetic-world.ts';

const START = 1_760_000_000_000;
const SOURCES = ['synthetic', 'binance', 'coinbase', 'kraken'];

/** Every source's price of `symbol` once a second for `seconds`, on a hand-moved clock. */
function quotes(world: SyntheticWorld, symbol: string, seconds: number): number[][] {
  const sources = SOURCES.map((name) => world.source(name));
  const rows: number[][] = [];
  for (let second = 0; second < seconds; second++) {
    rows.push(sources.map((source) => source.price(symbol, START + second * 1_000 + 137)));
  }
  return rows;
}

const spread = (prices: number[]) => Math.max(...prices) / Math.min(...prices) - 1;

describe('synthetic world', () => {
  it('keeps every source within a few basis points of the others for a symbol, over six hours', () => {
    for (const symbol of ['BTC', 'ETH', 'DOGE', 'NEWCOIN']) {
      const rows = quotes(new SyntheticWorld(42), symbol, 6 * 3_600);
      const widest = Math.max(...rows.map(spread));
      assert.ok(widest < 0.005, `${symbol}: sources ${(widest * 100).toFixed(3)} % apart at worst`);
    }
  });

  it('moves the walk itself, as a coin of its volatility does', () => {
    const rows = quotes(new SyntheticWorld(42), 'BTC', 6 * 3_600);
    const range = spread(rows.map((row) => row[0] as number));
    // BTC's 55 % a year is about 0.6 % an hour: six hours move it more than a tenth of a percent.
    assert.ok(range > 0.001 && range < 0.2, `BTC ranged ${(range * 100).toFixed(2)} % in six hours`);
  });

  it('starts known coins near their usual price and gives the same prices for the same seed and questions', () => {
    const btc = new SyntheticWorld(7).fairPrice('BTC', START);
    assert.ok(btc > 85_000 && btc < 95_000, `BTC starts at ${btc}`);
    assert.deepEqual(quotes(new SyntheticWorld(7), 'ETH', 100), quotes(new SyntheticWorld(7), 'ETH', 100));
    assert.notDeepEqual(quotes(new SyntheticWorld(7), 'ETH', 10), quotes(new SyntheticWorld(8), 'ETH', 10));
  });

  it('answers a late question with the price of its time, not the newest one', () => {
    const world = new SyntheticWorld(3);
    const early = world.fairPrice('SOL', START + 10_500);
    world.fairPrice('SOL', START + 600_000);
    assert.equal(world.fairPrice('SOL', START + 10_500), early);
  });

  it('walks a clock that jumps a year in one step, and stays a positive price', () => {
    const world = new SyntheticWorld(5);
    world.fairPrice('BTC', START);
    const later = world.source('binance').price('BTC', START + 365 * 86_400_000);
    assert.ok(Number.isFinite(later) && later > 0, `BTC a year on: ${later}`);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toPriceRecord, validatePrice } from '../../core/records/price.ts';
import { SyntheticProvider } from './synthetic.ts';

const signal = new AbortController().signal;
const SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP', 'ADA', 'DOGE', 'PEPE2'];

async function walk(seed: number, polls: number) {
  let clock = 1_750_000_000_000;
  const provider = new SyntheticProvider({ seed, now: () => clock });
  const all = [];
  for (let i = 0; i < polls; i++) {
    all.push(...(await provider.fetch(SYMBOLS, signal)).observations);
    clock += 10_000;
  }
  return all;
}

describe('synthetic provider', () => {
  it('gives the same prices for the same seed and clock, and others for another seed', async () => {
    assert.deepEqual(await walk(7, 50), await walk(7, 50));
    assert.notDeepEqual(
      (await walk(7, 5)).map((o) => o.price_usd),
      (await walk(8, 5)).map((o) => o.price_usd),
    );
  });

  it('starts near plausible prices and stamps the clock time', async () => {
    const [btc, eth] = await walk(1, 1);
    assert.ok(btc!.price_usd > 85_000 && btc!.price_usd < 95_000, `BTC at ${btc!.price_usd}`);
    assert.ok(eth!.price_usd > 2_800 && eth!.price_usd < 3_200, `ETH at ${eth!.price_usd}`);
    assert.equal(btc!.ts, 1_750_000_000_000);
    assert.equal(btc!.source, 'synthetic');
  });

  it('always produces valid records, over a long walk and for unknown symbols', async () => {
    const observations = await walk(99, 2_000);
    for (const observation of observations) {
      const checked = validatePrice(toPriceRecord(observation, 0));
      assert.ok(checked.ok, checked.ok ? '' : checked.reason);
    }
    const btc = observations.filter((o) => o.symbol === 'BTC').at(-1)!;
    assert.ok(btc.price_usd > 45_000 && btc.price_usd < 180_000, 'a 5.5 hour walk stays near its start');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import { gaps, trades } from '../../core/datasets/index.ts';
import { silentLogger } from '../../core/log.ts';
import { gapId, type Gap } from '../../core/records/gap.ts';
import { tradeId, type Trade } from '../../core/records/trade.ts';
import { FixtureLake } from '../../tests/support/fixture-lake.ts';
import { StreamCheckpoints } from './checkpoints.ts';
import { marketKey, readLakeMarkets, subtractRuns } from './lake-marks.ts';
import { findStartPoints } from './start-points.ts';

const HOUR = 3_600_000;
const NOW = Date.now();

function trade(market: string, id: number, ts: number): Trade {
  return {
    id: tradeId('binance', market, id),
    ts,
    symbol: market.slice(0, 3),
    venue: 'binance',
    market,
    price: 100 + id,
    qty: 1,
    side: 'buy',
    trade_id: id,
    via: 'stream',
    ingested_at: ts + 5,
  };
}

function gap(market: string, first: number, last: number): Gap {
  return {
    id: gapId('binance', market, first, last),
    venue: 'binance',
    market,
    symbol: market.slice(0, 3),
    first_trade_id: first,
    last_trade_id: last,
    missing: last - first + 1,
    from_ts: NOW - HOUR,
    to_ts: NOW - HOUR,
    cause: 'sequence',
    reason: 'the venue\u2019s REST history did not return them',
    detected_at: NOW - HOUR,
  };
}

describe('where the lake left each market', () => {
  let lake: FixtureLake;

  before(async () => {
    lake = await FixtureLake.create();
    // BTCUSDT: ids 1-100 two days ago (a hole at 50-59 then, out of the look-back), then 1000-1099
    // an hour ago with a hole 1020-1029 (half of it in a gap record) and another 1040-1049, in two days.
    const btc = [
      ...Array.from({ length: 100 }, (_, i) => i + 1)
        .filter((id) => id < 50 || id > 59)
        .map((id) => trade('BTCUSDT', id, NOW - 48 * HOUR + id)),
      ...Array.from({ length: 100 }, (_, i) => 1_000 + i)
        .filter((id) => !(id >= 1_020 && id <= 1_029) && !(id >= 1_040 && id <= 1_049))
        .map((id) => trade('BTCUSDT', id, NOW - HOUR + id * 10)),
    ];
    await lake.write(trades, btc);
    await lake.write(gaps, [gap('BTCUSDT', 1_020, 1_024)]);
    // ETHUSDT: one trade three days ago, nothing since: its newest trade is found outside the look-back.
    await lake.write(trades, [trade('ETHUSDT', 7, NOW - 72 * HOUR)]);
  });
  after(() => lake.remove());

  it('finds the newest trade and the ids missing before it within the look-back, less the gap records', async () => {
    const found = await readLakeMarkets(
      lake.location,
      [
        { venue: 'binance', market: 'BTCUSDT' },
        { venue: 'binance', market: 'ETHUSDT' },
        { venue: 'binance', market: 'SOLUSDT' },
      ],
      24 * HOUR,
    );
    assert.deepEqual([...found.keys()].sort(), ['binance BTCUSDT', 'binance ETHUSDT'], 'a market with no trade has no start');
    const btc = found.get(marketKey('binance', 'BTCUSDT'))!;
    assert.deepEqual(btc.newest, { tradeId: 1_099, ts: NOW - HOUR + 10_990 });
    assert.deepEqual(btc.missing, [
      { first: 1_025, last: 1_029, fromTs: NOW - HOUR + 10_190, toTs: NOW - HOUR + 10_300 },
      { first: 1_040, last: 1_049, fromTs: NOW - HOUR + 10_390, toTs: NOW - HOUR + 10_500 },
    ]);
    assert.deepEqual(found.get(marketKey('binance', 'ETHUSDT')), { newest: { tradeId: 7, ts: NOW - 72 * HOUR }, missing: [] });
  });

  it('says nothing of a lake that was never written', async () => {
    const empty = await FixtureLake.create();
    try {
      const fresh = { ...empty.location, catalog: { kind: 'sqlite' as const, path: `${empty.root}/none/lake.sqlite` } };
      assert.equal((await readLakeMarkets(fresh, [{ venue: 'binance', market: 'BTCUSDT' }], HOUR)).size, 0);
      assert.equal((await readLakeMarkets(empty.location, [{ venue: 'binance', market: 'BTCUSDT' }], HOUR)).size, 0);
    } finally {
      await empty.remove();
    }
  });

  it('starts a market from the replicas\u2019 shared mark when there is one, else from the lake', async () => {
    const checkpoints = new StreamCheckpoints(new MemoryCache(), 'replica-a', 'trades');
    await checkpoints.save('binance', 'BTCUSDT', { tradeId: 1_200, ts: NOW });
    await new StreamCheckpoints(new MemoryCache(), 'other-cache', 'trades').save('binance', 'ETHUSDT', { tradeId: 99, ts: NOW });
    const points = await findStartPoints(
      [
        { venue: 'binance', market: 'BTCUSDT' },
        { venue: 'binance', market: 'ETHUSDT' },
      ],
      { checkpoints, lake: lake.location, lookbackMs: 24 * HOUR, log: silentLogger },
    );
    assert.deepEqual(points.get('binance BTCUSDT'), { mark: { tradeId: 1_200, ts: NOW }, holes: [] });
    assert.deepEqual(points.get('binance ETHUSDT'), { mark: { tradeId: 7, ts: NOW - 72 * HOUR }, holes: [] });
  });
});

describe('shared marks', () => {
  it('answer the furthest mark of any replica, and nothing for a market no one marked', async () => {
    const cache = new MemoryCache();
    const a = new StreamCheckpoints(cache, 'a', 'trades');
    const b = new StreamCheckpoints(cache, 'b', 'trades');
    await a.save('kraken', 'BTC/USD', { tradeId: 10, ts: 1 });
    await b.save('kraken', 'BTC/USD', { tradeId: 30, ts: 3 });
    await a.save('kraken', 'BTC/USD', { tradeId: 20, ts: 2 });
    assert.deepEqual(await a.load('kraken', 'BTC/USD'), { tradeId: 30, ts: 3 });
    assert.equal(await a.load('kraken', 'ETH/USD'), undefined);
    assert.equal(await new StreamCheckpoints(cache, 'a', 'other-trades').load('kraken', 'BTC/USD'), undefined, 'marks are per topic');
  });
});

describe('subtractRuns', () => {
  it('takes recorded runs out of missing ones, keeping their times', () => {
    const run = { first: 10, last: 30, fromTs: 1, toTs: 2 };
    assert.deepEqual(
      subtractRuns(
        [run],
        [
          { first: 12, last: 14 },
          { first: 5, last: 10 },
          { first: 28, last: 40 },
        ],
      ),
      [
        { ...run, first: 11, last: 11 },
        { ...run, first: 15, last: 27 },
      ],
    );
    assert.deepEqual(subtractRuns([run], [{ first: 1, last: 100 }]), []);
    assert.deepEqual(subtractRuns([run], []), [run]);
  });
});

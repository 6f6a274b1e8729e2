import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validatePrice, toPriceRecord, type PriceObservation } from '../../core/records/price.ts';
import { realPricesPath } from '../testing/shared.ts';
import { ReplayProvider } from './replay.ts';

const signal = new AbortController().signal;

async function replayAll(file: string, options: Partial<ConstructorParameters<typeof ReplayProvider>[0]> = {}) {
  const provider = new ReplayProvider({ file, speed: 0, chunkRows: 1_000_000, ...options });
  const result = await provider.fetch([], signal);
  assert.equal(provider.exhausted, true);
  return result;
}

const REAL_FILES: { file: string; rows: number; first: [string, number]; last: [string, number] }[] = [
  {
    file: 'binanceus_BTCUSDT_1m_20230301_20230321.csv',
    rows: 30240,
    first: ['2023-03-01T00:00:00Z', 23142.31],
    last: ['2023-03-21T23:59:00Z', 28110.26],
  },
  {
    file: 'binanceus_BTCUSD_1m_20230301_20230321.csv',
    rows: 30240,
    first: ['2023-03-01T00:00:00Z', 23143.72],
    last: ['2023-03-21T23:59:00Z', 28194.93],
  },
  {
    file: 'cdd_Binance_BTCUSDT_minute_2019-09.csv',
    rows: 15000,
    first: ['2019-09-08T17:57:00Z', 10000],
    last: ['2019-09-19T03:57:00Z', 9813.44],
  },
  { file: 'cdd_Coinbase_BTCUSD_1h.csv', rows: 29061, first: ['2017-07-01T11:00:00Z', 2509.17], last: ['2020-10-24T07:00:00Z', 12953.2] },
  {
    file: 'kraken_BTCUSDC_1m_ohlcvt_2023Q1.csv',
    rows: 56717,
    first: ['2023-01-01T00:00:00Z', 16522.66],
    last: ['2023-03-31T23:59:00Z', 28485.09],
  },
  {
    file: 'exploratium_BTC-USD_daily.csv',
    rows: 363,
    first: ['2020-06-27T00:00:00Z', 9143.58203125],
    last: ['2021-06-28T00:00:00Z', 34810.99609375],
  },
  {
    file: 'exploratium_ETH-USD_daily.csv',
    rows: 363,
    first: ['2020-06-27T00:00:00Z', 225.34716796875],
    last: ['2021-06-28T00:00:00Z', 2025.357421875],
  },
  {
    file: 'mathaszip_BTCUSD_1d_candles_full.csv',
    rows: 5152,
    first: ['2011-08-18T00:00:00Z', 10.9],
    last: ['2025-09-24T00:00:00Z', 113700.11],
  },
];

describe('replay of the real price files', () => {
  for (const { file, rows, first, last } of REAL_FILES) {
    it(`reads ${file} oldest first, every row valid`, async () => {
      const { observations, rejects } = await replayAll(realPricesPath(file));
      assert.deepEqual(rejects, []);
      assert.equal(observations.length, rows);
      const symbol = file.includes('ETH') ? 'ETH' : 'BTC';
      assert.deepEqual(pick(observations[0]!), [symbol, Date.parse(first[0]), first[1]]);
      assert.deepEqual(pick(observations.at(-1)!), [symbol, Date.parse(last[0]), last[1]]);
      // Real files repeat some timestamps (cdd Coinbase 2017-11-12, exploratium 2021-03-28), so time only never goes back.
      for (let i = 1; i < observations.length; i++) assert.ok(observations[i]!.ts >= observations[i - 1]!.ts, `row ${i} goes back in time`);
      assert.ok(observations.every((o) => validatePrice(toPriceRecord(o, 0)).ok));
    });
  }
});

describe('replay of own formats', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'replay-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads NDJSON with the record columns, ISO or epoch times, and rejects bad lines by number', async () => {
    const file = join(dir, 'prices.ndjson');
    const lines = [
      { ts: 1_700_000_000_000, symbol: 'BTC', price_usd: 37000.5, volume_24h_usd: 1e9, market_cap_usd: null, change_24h_pct: -1.5 },
      { ts: '2023-11-14T22:13:21Z', symbol: 'ETH', price_usd: '2000' },
    ].map((line) => JSON.stringify(line));
    await writeFile(file, [...lines, '', 'not json', JSON.stringify({ ts: 'yesterday', symbol: 'BTC', price_usd: 1 })].join('\n'));
    const { observations, rejects } = await replayAll(file, { source: 'my-dump' });
    assert.deepEqual(observations, [
      {
        source: 'my-dump',
        symbol: 'BTC',
        ts: 1_700_000_000_000,
        price_usd: 37000.5,
        volume_24h_usd: 1e9,
        market_cap_usd: null,
        change_24h_pct: -1.5,
      },
      {
        source: 'my-dump',
        symbol: 'ETH',
        ts: 1_700_000_001_000,
        price_usd: 2000,
        volume_24h_usd: null,
        market_cap_usd: null,
        change_24h_pct: null,
      },
    ]);
    assert.deepEqual(
      rejects.map((r) => r.reason.split(':')[0]),
      ['line 4', 'line 5'],
    );
    assert.equal(rejects[0]!.payload, 'not json');
  });

  it('reads a CSV whose header names the record columns, normalising pair symbols', async () => {
    const file = join(dir, 'mixed.csv');
    await writeFile(
      file,
      'ts,symbol,price_usd,change_24h_pct\r\n1700000000000,BTC/USDT,37000,1.5\r\n2023-11-14T22:14:20Z,XBT,37010,\r\n1700000120000,ETH-USD,abc,\r\n',
    );
    const { observations, rejects } = await replayAll(file);
    assert.deepEqual(
      observations.map((o) => [o.symbol, o.ts, o.price_usd, o.change_24h_pct]),
      [
        ['BTC', 1_700_000_000_000, 37000, 1.5],
        ['BTC', 1_700_000_060_000, 37010, null],
      ],
    );
    assert.equal(rejects.length, 1);
    assert.match(rejects[0]!.reason, /^line 4: price: expected a number, got "abc"/);
  });

  it('fails clearly on a file it cannot read or recognise', async () => {
    await assert.rejects(new ReplayProvider({ file: join(dir, 'missing.csv'), speed: 0 }).fetch([], signal), {
      code: 'PROVIDER_UNAVAILABLE',
    });
    const odd = join(dir, 'odd_BTCUSD.csv');
    await writeFile(odd, 'when,what\n1,2\n');
    await assert.rejects(new ReplayProvider({ file: odd, speed: 0 }).fetch([], signal), /header names no time column/);
  });

  it('hands over rows as they fall due at the replay speed', async () => {
    const file = join(dir, 'paced.ndjson');
    const start = 1_600_000_000_000;
    await writeFile(
      file,
      [0, 1, 2, 3, 4, 5].map((s) => JSON.stringify({ ts: start + s * 1000, symbol: 'BTC', price_usd: 100 + s })).join('\n'),
    );
    let clock = 50_000;
    const provider = new ReplayProvider({ file, speed: 2, now: () => clock });
    const prices = async () => (await provider.fetch([], signal)).observations.map((o) => o.price_usd);
    assert.deepEqual(await prices(), [100]);
    assert.deepEqual(await prices(), []);
    clock += 1000;
    assert.deepEqual(await prices(), [101, 102]);
    clock += 10_000;
    assert.deepEqual(await prices(), [103, 104, 105]);
    assert.equal(provider.exhausted, true);
    assert.deepEqual(await prices(), []);
  });

  it('hands over chunks as fast as it is asked at speed 0', async () => {
    const file = join(dir, 'fast.ndjson');
    await writeFile(
      file,
      [0, 1, 2, 3, 4].map((s) => JSON.stringify({ ts: s * 60_000, symbol: 'SOL', price_usd: 10 + s })).join('\n') + '\n',
    );
    const provider = new ReplayProvider({ file, speed: 0, chunkRows: 2 });
    const sizes = [];
    while (!provider.exhausted) sizes.push((await provider.fetch([], signal)).observations.length);
    assert.deepEqual(sizes, [2, 2, 1]);
  });
});

function pick(observation: PriceObservation): [string, number, number] {
  return [observation.symbol, observation.ts, observation.price_usd];
}

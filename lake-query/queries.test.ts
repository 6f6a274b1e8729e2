import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { FixtureLake, type FixturePrice } from '../tests/support/fixture-lake.ts';
import { Lake } from './lake.ts';
import { createLakeQueries, type LakeReader } from './queries.ts';

const OPTIONS = { queryTimeoutMs: 10_000, memoryLimit: '256MB', threads: 2, connections: 2 };
const at = (iso: string) => Date.parse(iso);

async function openLake(fixture: FixtureLake, options = OPTIONS): Promise<Lake> {
  return Lake.open(fixture.location, options, silentLogger, new Metrics());
}

describe('lake queries over a fixture lake', () => {
  let fixture: FixtureLake;
  let lake: Lake;

  before(async () => {
    fixture = await FixtureLake.create();
    const prices: FixturePrice[] = [
      { symbol: 'BTC', ts: at('2026-03-01T23:59:30Z'), price: 100 },
      // Bucket 2026-03-02 00:00..00:01: open 101, high 130, low 99, close 120 (out of order on purpose).
      { symbol: 'BTC', ts: at('2026-03-02T00:00:40Z'), price: 130 },
      { symbol: 'BTC', ts: at('2026-03-02T00:00:00Z'), price: 101 },
      { symbol: 'BTC', ts: at('2026-03-02T00:00:59.999Z'), price: 120 },
      { symbol: 'BTC', ts: at('2026-03-02T00:00:20Z'), price: 99 },
      // The next minute starts exactly at its boundary.
      { symbol: 'BTC', ts: at('2026-03-02T00:01:00Z'), price: 125, source: 'binance', change24hPct: -2.5 },
      { symbol: 'ETH', ts: at('2026-03-02T00:00:10Z'), price: 10, change24hPct: 1.25 },
      { symbol: 'ETH', ts: at('2026-03-03T12:00:00Z'), price: 11, source: 'kraken', change24hPct: 3 },
    ];
    await fixture.writePrices(prices);
    // The same record delivered twice (at-least-once) is dropped at commit: it counts once.
    await fixture.writePrices([{ symbol: 'BTC', ts: at('2026-03-02T00:00:40Z'), price: 130 }]);
    await fixture.rows(`CALL ducklake_flush_inlined_data('lake')`);
    await fixture.writeDeadLetters([
      { at: at('2026-03-02T00:00:00Z'), stage: 'scraper', source: 'coingecko', reason: 'price_usd: expected number' },
      { at: at('2026-03-02T00:05:00Z'), stage: 'scraper', source: 'coingecko', reason: 'price_usd: expected number' },
      { at: at('2026-03-02T00:06:00Z'), stage: 'processor', source: 'prices/0/12', reason: 'not JSON' },
    ]);
    lake = await openLake(fixture);
  });

  after(async () => {
    await lake.close();
    await fixture.remove();
  });

  it('returns the newest record of each symbol with its source and 24h change', async () => {
    const latest = await createLakeQueries(lake).latest();
    assert.deepEqual(
      latest.map((p) => [p.symbol, p.priceUsd, p.source, p.change24hPct, p.ts]),
      [
        ['BTC', 125, 'binance', -2.5, at('2026-03-02T00:01:00Z')],
        ['ETH', 11, 'kraken', 3, at('2026-03-03T12:00:00Z')],
      ],
    );
  });

  it('computes 1m candles that match a hand computation, with UTC bucket boundaries', async () => {
    const candles = await createLakeQueries(lake).candles({
      symbol: 'BTC',
      interval: '1m',
      from: at('2026-03-01T23:00:00Z'),
      to: at('2026-03-02T01:00:00Z'),
    });
    assert.deepEqual(
      candles.candles.map(({ time, open, high, low, close, count }) => ({
        time: new Date(time).toISOString(),
        open,
        high,
        low,
        close,
        count,
      })),
      [
        { time: '2026-03-01T23:59:00.000Z', open: 100, high: 100, low: 100, close: 100, count: 1 },
        { time: '2026-03-02T00:00:00.000Z', open: 101, high: 130, low: 99, close: 120, count: 4 },
        { time: '2026-03-02T00:01:00.000Z', open: 125, high: 125, low: 125, close: 125, count: 1 },
      ],
    );
  });

  it('computes daily candles aligned to UTC midnight, each price the median of the sources, and honours the range ends', async () => {
    const queries = createLakeQueries(lake);
    const daily = await queries.candles({
      symbol: 'BTC',
      interval: '1d',
      from: at('2026-03-01T00:00:00Z'),
      to: at('2026-03-04T00:00:00Z'),
    });
    // 2 March: fixture 101/130/99/120 and binance 125/125/125/125; the median of two is their mean.
    assert.deepEqual(
      daily.candles.map((c) => [new Date(c.time).toISOString(), c.open, c.high, c.low, c.close, c.count, c.sources]),
      [
        ['2026-03-01T00:00:00.000Z', 100, 100, 100, 100, 1, 1],
        ['2026-03-02T00:00:00.000Z', 113, 127.5, 112, 122.5, 5, 2],
      ],
    );
    assert.deepEqual([daily.basis, daily.sources], ['composite', ['binance', 'fixture']]);
    const fixtureOnly = await queries.candles({
      symbol: 'BTC',
      source: 'fixture',
      interval: '1d',
      from: at('2026-03-01T00:00:00Z'),
      to: at('2026-03-04T00:00:00Z'),
    });
    assert.deepEqual(
      fixtureOnly.candles.map((c) => [c.open, c.high, c.low, c.close, c.count]),
      [
        [100, 100, 100, 100, 1],
        [101, 130, 99, 120, 4],
      ],
    );
    assert.deepEqual([fixtureOnly.basis, fixtureOnly.sources], ['source', ['fixture']]);
    // `to` is exclusive: a record exactly at `to` is left out; `from` is inclusive.
    const edge = await queries.candles({ symbol: 'BTC', interval: '1m', from: at('2026-03-02T00:00:00Z'), to: at('2026-03-02T00:01:00Z') });
    assert.deepEqual(
      edge.candles.map((c) => [c.count, c.close]),
      [[4, 120]],
    );
  });

  it('lists partitions with files, rows and bytes from the catalog', async () => {
    const partitions = await createLakeQueries(lake).partitions();
    const files = await fixture.rows(
      `SELECT data_file, data_file_size_bytes::DOUBLE AS bytes FROM ducklake_list_files('lake', 'prices') WHERE data_file LIKE '%/month=3/day=2/%'`,
    );
    assert.deepEqual(
      partitions.map((p) => [p.date, p.files, p.rows]),
      [
        ['2026-03-03', 1, 1],
        ['2026-03-02', 1, 6],
        ['2026-03-01', 1, 1],
      ],
    );
    assert.equal(
      partitions[1]!.bytes,
      files.reduce((sum, file) => sum + Number(file.bytes), 0),
    );
    assert.deepEqual(await createLakeQueries(lake).stats(), {
      rows: 8,
      files: 3,
      bytes: partitions.reduce((s, p) => s + p.bytes, 0),
      days: 3,
    });
  });

  it('counts dead letters by reason', async () => {
    const summary = await createLakeQueries(lake).deadLetterSummary();
    assert.deepEqual(
      summary.map((d) => [d.stage, d.reason, d.count]),
      [
        ['scraper', 'price_usd: expected number', 2],
        ['processor', 'not JSON', 1],
      ],
    );
  });

  it('treats a symbol as data, never as SQL', async () => {
    const candles = await createLakeQueries(lake).candles({
      symbol: "BTC' OR '1'='1",
      interval: '1m',
      from: 0,
      to: at('2027-01-01T00:00:00Z'),
    });
    assert.deepEqual(candles.candles, []);
  });
});

describe('partition pruning', () => {
  it('reads only the files of the requested day', async () => {
    const fixture = await FixtureLake.create();
    const day = (d: number) => `2026-05-${String(d).padStart(2, '0')}`;
    const prices: FixturePrice[] = [];
    for (let d = 1; d <= 20; d++)
      for (let h = 0; h < 24; h += 6)
        prices.push({ symbol: 'BTC', ts: at(`${day(d)}T${String(h).padStart(2, '0')}:00:00Z`), price: d * 100 + h });
    await fixture.writePrices(prices);
    await fixture.rows(`CALL ducklake_flush_inlined_data('lake')`);
    const lake = await openLake(fixture);
    try {
      const plans: string[] = [];
      const explaining: LakeReader = {
        catalog: lake.catalog,
        query: async (what, sql, params) => {
          const rows = await lake.query(what, `EXPLAIN ANALYZE ${sql}`, params);
          plans.push(rows.map((row) => String(row.explain_value)).join('\n'));
          return [];
        },
      };
      const range = { symbol: 'BTC', interval: '1h' as const, from: at('2026-05-10T00:00:00Z'), to: at('2026-05-11T00:00:00Z') };
      await createLakeQueries(explaining, { candlesFrom: 'raw' }).candles(range);
      assert.match(plans[0]!, /Total Files Read: 1\b/, plans[0]);

      const across = { ...range, from: at('2026-05-09T22:00:00Z'), to: at('2026-05-12T00:00:00Z') };
      plans.length = 0;
      // 22:00 of the 9th is after that day's last price (18:00): its file's statistics rule it out too.
      await createLakeQueries(explaining, { candlesFrom: 'raw' }).candles(across);
      assert.match(plans[0]!, /Total Files Read: 2\b/, plans[0]);
      plans.length = 0;
      await createLakeQueries(explaining, { candlesFrom: 'rollups' }).candles(range);
      assert.match(plans[0]!, /Total Files Read: 1\b/, plans[0]);

      const candles = await createLakeQueries(lake).candles(range);
      assert.deepEqual(
        candles.candles.map((c) => c.open),
        [1000, 1006, 1012, 1018],
      );
    } finally {
      await lake.close();
      await fixture.remove();
    }
  });
});

describe('a lake that starts empty', () => {
  it('answers empty results, then sees commits made after it opened', async () => {
    const fixture = await FixtureLake.create();
    const lake = await openLake(fixture);
    try {
      const queries = createLakeQueries(lake);
      assert.deepEqual(await queries.latest(), []);
      assert.deepEqual(await queries.candles({ symbol: 'BTC', interval: '1m', from: 0, to: Date.now() }), {
        basis: 'composite',
        sources: [],
        candles: [],
      });
      assert.deepEqual(await queries.partitions(), []);
      assert.deepEqual(await queries.deadLetterSummary(), []);
      assert.deepEqual(await queries.stats(), { rows: 0, files: 0, bytes: 0, days: 0 });
      assert.deepEqual(await lake.query('the empty table', 'SELECT count(*)::INTEGER AS n FROM prices'), [{ n: 0 }]);

      await fixture.writePrices([{ symbol: 'SOL', ts: at('2026-06-01T10:00:00Z'), price: 150 }]);
      assert.deepEqual(
        (await queries.latest()).map((p) => [p.symbol, p.priceUsd]),
        [['SOL', 150]],
      );
      await fixture.writePrices([{ symbol: 'SOL', ts: at('2026-06-02T10:00:00Z'), price: 151 }]);
      assert.deepEqual(
        (await queries.latest()).map((p) => [p.symbol, p.priceUsd]),
        [['SOL', 151]],
      );
      assert.equal((await queries.stats()).rows, 2);
    } finally {
      await lake.close();
      await fixture.remove();
    }
  });
});

describe('query limits', () => {
  it('stops a query that runs past its timeout with QUERY_TIMEOUT', async () => {
    const fixture = await FixtureLake.create();
    const lake = await openLake(fixture, { ...OPTIONS, queryTimeoutMs: 150 });
    try {
      const started = Date.now();
      await assert.rejects(
        lake.query('a very long count', 'SELECT count(*) FROM range(100000000000)'),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'QUERY_TIMEOUT');
          assert.match(error.message, /a very long count took longer than 150 ms/);
          return true;
        },
      );
      assert.ok(Date.now() - started < 5_000);
      assert.deepEqual(await lake.query('a follow-up', 'SELECT 1 AS one'), [{ one: 1 }]);
    } finally {
      await lake.close();
      await fixture.remove();
    }
  });

  it('reports a broken statement as QUERY_FAILED naming what was asked', async () => {
    const fixture = await FixtureLake.create();
    const lake = await openLake(fixture);
    try {
      await assert.rejects(lake.query('the broken question', 'SELECT nope FROM prices'), /QUERY_FAILED|the broken question failed/);
    } finally {
      await lake.close();
      await fixture.remove();
    }
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { FixtureLake, type FixturePrice } from '../tests/support/fixture-lake.ts';
import { indicators } from './indicators.ts';
import { Lake } from './lake.ts';
import { createLakeQueries, type LakeReader } from './queries.ts';

const OPTIONS = { queryTimeoutMs: 20_000, memoryLimit: '256MB', threads: 2, connections: 2 };
const DAY = 86_400_000;
const END = Date.parse('2026-06-01T00:00:00Z');
const SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP'];

/** What EXPLAIN ANALYZE says one statement read: the data files opened, per the scan operators. */
function filesRead(plan: string): number {
  return [...plan.matchAll(/Total Files Read: (\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
}

describe('what each dashboard query reads, by EXPLAIN ANALYZE', () => {
  let fixture: FixtureLake;
  let lake: Lake;
  const plans: { what: string; plan: string }[] = [];
  let explaining: LakeReader;

  before(async () => {
    fixture = await FixtureLake.create();
    // 40 days of 4 symbols from 2 sources, a price every 2 hours, in 4 commits of 10 days: a data
    // file per day partition (prices, 1-minute rollup) and per commit and month or year (hourly, daily).
    for (let first = 40; first >= 1; first -= 10) {
      const prices: FixturePrice[] = [];
      for (let day = first; day > first - 10; day--)
        for (let h = 0; h < 24; h += 2)
          for (const [i, symbol] of SYMBOLS.entries())
            for (const source of ['coingecko', 'kraken'])
              prices.push({ symbol, source, ts: END - day * DAY + h * 3_600_000 + i * 1_000, price: 100 * (i + 1) + day });
      await fixture.writePrices(prices);
      await fixture.rows(`CALL ducklake_flush_inlined_data('lake')`);
    }
    lake = await Lake.open(fixture.location, OPTIONS, silentLogger, new Metrics());
    explaining = {
      catalog: lake.catalog,
      query: async (what, sql, params) => {
        const rows = await lake.query(what, `EXPLAIN ANALYZE ${sql}`, params);
        plans.push({ what, plan: rows.map((row) => String(row.explain_value)).join('\n') });
        return lake.query(what, sql, params);
      },
    };
  });

  after(async () => {
    await lake.close();
    await fixture.remove();
  });

  /** The files each statement of one ask read, by what it was. */
  async function reads(ask: () => Promise<unknown>): Promise<Record<string, number>> {
    plans.length = 0;
    await ask();
    return Object.fromEntries(plans.map(({ what, plan }) => [what, filesRead(plan)]));
  }

  it('reads the newest days of the daily rollup for the latest prices, not the prices', async () => {
    const read = await reads(() => createLakeQueries(explaining).latest());
    const plan = plans[0]!.plan;
    assert.doesNotMatch(plan, /\bprices\b(?!_)/, 'no scan of the raw prices');
    // The daily rollup is partitioned by year: a file per commit, at most all 4.
    assert.ok(read['the latest prices']! <= 4, JSON.stringify(read));
  });

  it('reads one file for a 1-day chart of 1-minute candles, a file a day for a week of 15-minute ones, and the daily rollup alone for a 1-year chart', async () => {
    const queries = createLakeQueries(explaining);
    const oneDay = await reads(() => queries.candles({ symbol: 'BTC', interval: '1m', from: END - 2 * DAY, to: END - DAY }));
    assert.deepEqual(Object.values(oneDay), [1]);
    const week = await reads(() => queries.candles({ symbol: 'BTC', interval: '15m', from: END - 8 * DAY, to: END - DAY }));
    // 15 minutes is not a whole number of hours: the 1-minute rollup, one file for each of the 7 days.
    assert.deepEqual(Object.values(week), [7]);
    assert.doesNotMatch(plans[0]!.plan, /candles_1h_partials|\bprices\b(?!_)/);
    const year = await reads(() => queries.candles({ symbol: 'BTC', interval: '1d', from: END - 365 * DAY, to: END }));
    assert.match(plans[0]!.plan, /candles_1d_partials/);
    assert.doesNotMatch(plans[0]!.plan, /candles_1h_partials|candles_1m_partials|\bprices\b(?!_)/);
    assert.ok(Object.values(year)[0]! <= 4, JSON.stringify(year));
  });

  it('reads a few files for the indicators: rollups, and the prices only of the minute of `at`', async () => {
    const read = await reads(() =>
      indicators(explaining, createLakeQueries(explaining), { symbol: 'BTC', interval: '1h', window: 20, at: END - DAY / 2 }),
    );
    // The candles of the window, the closes at `at` and a day before, and the spread: four statements.
    assert.equal(plans.length, 4, JSON.stringify(read));
    for (const { what, plan } of plans) assert.ok(filesRead(plan) >= 1 && filesRead(plan) <= 4, `${what}: ${filesRead(plan)} files`);
  });
});

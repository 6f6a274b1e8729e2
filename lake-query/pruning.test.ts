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

/** A node of the plan EXPLAIN (ANALYZE, FORMAT JSON) gives: an operator, what it says of itself, its inputs. */
interface PlanNode {
  extra_info?: Record<string, unknown>;
  children?: PlanNode[];
}

/**
 * What EXPLAIN (ANALYZE, FORMAT JSON) says one statement read: per scan, its table and the data
 * files it opened. (JSON, not the text tree: a wide tree wraps each box's lines.)
 */
function scans(plan: string): { table: string; files: number }[] {
  const walk = (node: PlanNode): { table: string; files: number }[] => {
    const info = node.extra_info ?? {};
    const own = 'Total Files Read' in info ? [{ table: String(info.Table), files: Number(info['Total Files Read']) }] : [];
    return [...own, ...(node.children ?? []).flatMap(walk)];
  };
  return walk(JSON.parse(plan) as PlanNode);
}

/** The data files one statement opened, over all its scans. */
function filesRead(plan: string): number {
  return scans(plan).reduce((sum, scan) => sum + scan.files, 0);
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
        const rows = await lake.query(what, `EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
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

  it('reads a few files for the indicators in three statements: rollups, and the prices only of the minutes of `at` and `at - 24h`', async () => {
    const at = END - DAY / 2;
    const read = await reads(() =>
      indicators(explaining, createLakeQueries(explaining), { symbol: 'BTC', interval: '1h', window: 20, at }),
    );
    // The candles of the window; the close and the spread at `at`; the close a day before.
    const [atDay, dayBefore] = [
      `the close and provider spread of BTC at ${new Date(at).toISOString()}`,
      `the close of BTC at ${new Date(at - DAY).toISOString()}`,
    ];
    assert.deepEqual(Object.keys(read).sort(), ['candles for BTC (1h)', atDay, dayBefore], JSON.stringify(read));
    assert.ok(read['candles for BTC (1h)']! >= 1 && read['candles for BTC (1h)']! <= 4, JSON.stringify(read));
    // Each day: the 1-minute rollup of the day before the instant (a file a day, so two), and the
    // prices of the instant's own minute (one file).
    for (const what of [atDay, dayBefore]) {
      const plan = plans.find((statement) => statement.what === what)!.plan;
      assert.deepEqual(
        scans(plan)
          .map(({ table, files }) => `${table}: ${files}`)
          .sort(),
        ['candles_1m_partials: 2', 'prices: 1'],
        what,
      );
    }
  });
});

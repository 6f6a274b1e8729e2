import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { FixtureLake, type FixturePrice } from '../tests/support/fixture-lake.ts';
import { indicators } from './indicators.ts';
import { Lake } from './lake.ts';
import { CANDLE_INTERVALS, createLakeQueries, type CandleInterval } from './queries.ts';

const OPTIONS = { queryTimeoutMs: 20_000, memoryLimit: '256MB', threads: 2, connections: 2 };
const START = Date.parse('2026-04-01T00:00:00Z');
const HOUR = 3_600_000;
const SOURCES = ['coingecko', 'kraken', 'outlier'] as const;

/** Two honest sources a few cents apart, and one that reads 50% high for the whole second day. */
function priceOf(source: (typeof SOURCES)[number], ts: number): number {
  const base = 100 + Math.sin(ts / 5_000_000) * 3;
  if (source === 'kraken') return base + 0.05;
  if (source === 'outlier') return ts >= START + 24 * HOUR && ts < START + 48 * HOUR ? base * 1.5 : base - 0.04;
  return base;
}

/** Three days of BTC, each source ticking every 40 s at its own offset. */
function fixturePrices(): FixturePrice[] {
  const prices: FixturePrice[] = [];
  SOURCES.forEach((source, index) => {
    for (let ts = START + index * 7_000; ts < START + 72 * HOUR; ts += 40_000)
      prices.push({ symbol: 'BTC', source, ts, price: priceOf(source, ts) });
  });
  return prices;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Candles computed here from the fixture rows: per bucket, each source's OHLC, then the median across sources. */
function expectedCandles(rows: FixturePrice[], widthMs: number, from: number, to: number, source?: string) {
  const buckets = new Map<number, Map<string, FixturePrice[]>>();
  for (const row of rows) {
    if (row.ts < from || row.ts >= to || (source && row.source !== source)) continue;
    const time = Math.floor(row.ts / widthMs) * widthMs;
    const bySource = buckets.get(time) ?? new Map<string, FixturePrice[]>();
    bySource.set(row.source!, [...(bySource.get(row.source!) ?? []), row]);
    buckets.set(time, bySource);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([time, bySource]) => {
      const own = [...bySource.values()].map((list) => {
        const sorted = [...list].sort((a, b) => a.ts - b.ts);
        const prices = sorted.map((row) => row.price);
        return { open: prices[0]!, high: Math.max(...prices), low: Math.min(...prices), close: prices.at(-1)!, count: prices.length };
      });
      return {
        time,
        open: median(own.map((c) => c.open)),
        high: median(own.map((c) => c.high)),
        low: median(own.map((c) => c.low)),
        close: median(own.map((c) => c.close)),
        count: own.reduce((sum, c) => sum + c.count, 0),
        sources: own.length,
      };
    });
}

const rounded = (candles: { time: number; open: number; high: number; low: number; close: number; count: number; sources: number }[]) =>
  candles.map((c) => ({ ...c, open: c.open.toFixed(9), high: c.high.toFixed(9), low: c.low.toFixed(9), close: c.close.toFixed(9) }));

describe('composite candles with an outlying source', () => {
  const rows = fixturePrices();
  let fixture: FixtureLake;
  let lake: Lake;

  before(async () => {
    fixture = await FixtureLake.create();
    // Several commits, as the processor makes them: each minute and day has partials from more than one.
    for (let i = 0; i < rows.length; i += 1_500) await fixture.writePrices(rows.slice(i, i + 1_500));
    await fixture.rows(`CALL ducklake_flush_inlined_data('lake')`);
    lake = await Lake.open(fixture.location, OPTIONS, silentLogger, new Metrics());
  });

  after(async () => {
    await lake.close();
    await fixture.remove();
  });

  it('gives per bucket the median of the sources’ candles at every interval, so the outlier cannot drag them', async () => {
    const queries = createLakeQueries(lake);
    // Ends off whole minutes: the seconds at each end come from the raw prices, the rest from the rollups.
    const from = START + 17 * 60_000 + 13_000;
    const to = START + 71 * HOUR + 29_000;
    for (const interval of ['1m', '15m', '1h', '4h', '1d'] as CandleInterval[]) {
      const series = await queries.candles({ symbol: 'BTC', interval, from, to });
      assert.deepEqual([series.basis, series.sources], ['composite', [...SOURCES]]);
      const actual = series.candles.map(({ time, open, high, low, close, count, sources }) => ({
        time,
        open,
        high,
        low,
        close,
        count,
        sources,
      }));
      assert.deepEqual(rounded(actual), rounded(expectedCandles(rows, CANDLE_INTERVALS[interval], from, to)), interval);
    }
    const secondDay = await queries.candles({ symbol: 'BTC', interval: '1d', from: START + 24 * HOUR, to: START + 48 * HOUR });
    assert.ok(secondDay.candles[0]!.high < 104, `composite high ${secondDay.candles[0]!.high}: the outlier reads ~150`);
  });

  it('shows one source alone with source=', async () => {
    const queries = createLakeQueries(lake);
    const day = { symbol: 'BTC', interval: '1h' as const, from: START + 24 * HOUR, to: START + 48 * HOUR };
    const alone = await queries.candles({ ...day, source: 'outlier' });
    assert.deepEqual([alone.basis, alone.sources], ['source', ['outlier']]);
    assert.deepEqual(
      rounded(alone.candles.map(({ time, open, high, low, close, count, sources }) => ({ time, open, high, low, close, count, sources }))),
      rounded(expectedCandles(rows, HOUR, day.from, day.to, 'outlier')),
    );
    assert.ok(alone.candles.every((c) => c.close > 140));
    const unknown = await queries.candles({ ...day, source: 'nobody' });
    assert.deepEqual(unknown, { basis: 'source', sources: [], candles: [] });
  });

  it('computes the indicators on the composite by default and on one source with source=', async () => {
    const queries = createLakeQueries(lake);
    const at = START + 36 * HOUR;
    const composite = await indicators(lake, queries, { symbol: 'BTC', interval: '1h', window: 6, at });
    const outlier = await indicators(lake, queries, { symbol: 'BTC', interval: '1h', window: 6, at, source: 'outlier' });
    assert.deepEqual([composite.basis, composite.sources], ['composite', [...SOURCES]]);
    assert.deepEqual([outlier.basis, outlier.sources], ['source', ['outlier']]);
    const closes = expectedCandles(rows, HOUR, at + HOUR - 6 * HOUR, at + HOUR).map((c) => c.close);
    assert.equal(composite.sma!.toFixed(9), (closes.reduce((sum, c) => sum + c, 0) / closes.length).toFixed(9));
    assert.ok(outlier.sma! > 140 && composite.sma! < 104, `sma ${composite.sma} against the outlier's ${outlier.sma}`);
    // A day before `at` the outlier read like the others: alone, it shows its jump; the composite does not.
    assert.ok(outlier.change24hPct! > 40 && Math.abs(composite.change24hPct!) < 5, `${composite.change24hPct} / ${outlier.change24hPct}`);
    assert.deepEqual(
      composite.spread?.sources.map((s) => s.source),
      [...SOURCES],
    );
  });

  it('answers the latest prices the same from a freshly opened lake, as after a restart', async () => {
    const before = await createLakeQueries(lake).latest();
    const reopened = await Lake.open(fixture.location, OPTIONS, silentLogger, new Metrics());
    try {
      const newest = [...rows].sort((a, b) => a.ts - b.ts || a.source!.localeCompare(b.source!)).at(-1)!;
      const latest = await createLakeQueries(reopened).latest();
      assert.deepEqual(latest, before);
      assert.deepEqual(
        latest.map((p) => [p.symbol, p.source, p.priceUsd, p.ts]),
        [['BTC', newest.source, newest.price, newest.ts]],
      );
    } finally {
      await reopened.close();
    }
  });
});

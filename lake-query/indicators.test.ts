import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../core/log.ts';
import { median } from '../core/median.ts';
import { Metrics } from '../core/metrics.ts';
import { FixtureLake, type FixturePrice } from '../tests/support/fixture-lake.ts';
import { indicators, type ProviderSpread } from './indicators.ts';
import { Lake } from './lake.ts';
import { createLakeQueries } from './queries.ts';

const OPTIONS = { queryTimeoutMs: 20_000, memoryLimit: '256MB', threads: 2, connections: 2 };
const START = Date.parse('2026-05-01T00:00:00Z');
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** On a whole minute: coingecko, ticking on whole minutes, has a price exactly at it and exactly a day before. */
const ON_MINUTE = START + 60 * HOUR;
/** Mid-minute, ten hours earlier. */
const MID_MINUTE = START + 50 * HOUR + 17 * MINUTE + 31_234;

/** One source ticking every `everyMs` from `from` (inclusive) to `to` (exclusive), its price drifting on its own. */
function ticks(source: string, everyMs: number, from: number, to: number, level: number): FixturePrice[] {
  const rows: FixturePrice[] = [];
  for (let ts = from; ts < to; ts += everyMs)
    rows.push({ symbol: 'BTC', source, ts, price: level + Math.sin(ts / 3_000_000) * 4 + (ts % 7) / 10 });
  return rows;
}

/**
 * 61 hours of BTC from five sources: coingecko on every whole minute (and once 1 ms after
 * ON_MINUTE, far off: a price after `at` must not count); kraken every 47 s but silent for the
 * 40 minutes around ON_MINUTE - 24h; `stale` every 53 s until 150 s before ON_MINUTE; `newcomer`
 * every 71 s from hour 40 only (nothing a day before either instant); `early` only within 24 h
 * before MID_MINUTE and MID_MINUTE - 24h but before the first whole minute of those days; `exact`
 * only exactly at ON_MINUTE - 24h and - 48h. Another symbol beside it, which must not count.
 */
function fixturePrices(): FixturePrice[] {
  const end = START + 61 * HOUR;
  const krakenGap = (ts: number) => ts >= ON_MINUTE - DAY - 30 * MINUTE && ts < ON_MINUTE - DAY + 10 * MINUTE;
  return [
    ...ticks('coingecko', MINUTE, START, end, 100),
    { symbol: 'BTC', source: 'coingecko', ts: ON_MINUTE + 1, price: 500 },
    ...ticks('kraken', 47_000, START + 3_000, end, 101).filter((row) => !krakenGap(row.ts)),
    ...ticks('stale', 53_000, START + 11_000, ON_MINUTE - 150_000, 99),
    ...ticks('newcomer', 71_000, START + 40 * HOUR, end, 103),
    { symbol: 'BTC', source: 'early', ts: MID_MINUTE - 2 * DAY + 14_000, price: 90 },
    { symbol: 'BTC', source: 'early', ts: MID_MINUTE - DAY + 14_000, price: 92 },
    { symbol: 'BTC', source: 'exact', ts: ON_MINUTE - 2 * DAY, price: 91 },
    { symbol: 'BTC', source: 'exact', ts: ON_MINUTE - DAY, price: 93 },
    ...ticks('kraken', 60_000, START, end, 2_000).map((row) => ({ ...row, symbol: 'ETH' })),
  ];
}

/** The prices of the day before `instant` as the indicators take them: from its first whole minute up to the instant itself. */
function dayBefore(rows: readonly FixturePrice[], instant: number): FixturePrice[] {
  const from = Math.ceil((instant - DAY) / MINUTE) * MINUTE;
  return rows.filter((row) => row.symbol === 'BTC' && row.ts >= from && row.ts <= instant);
}

/** Each source's last price among `rows`. */
function lastBySource(rows: readonly FixturePrice[]): FixturePrice[] {
  const last = new Map<string, FixturePrice>();
  for (const row of rows) if (row.ts > (last.get(row.source!)?.ts ?? -Infinity)) last.set(row.source!, row);
  return [...last.values()].sort((a, b) => a.source!.localeCompare(b.source!));
}

/** The close at `instant` from the raw prices: the newest minute's median of each source's last price in it. */
function closeAt(rows: readonly FixturePrice[], instant: number, source?: string): number | null {
  const day = dayBefore(rows, instant).filter((row) => source === undefined || row.source === source);
  if (day.length === 0) return null;
  const minute = Math.floor(Math.max(...day.map((row) => row.ts)) / MINUTE) * MINUTE;
  return median(lastBySource(day.filter((row) => row.ts >= minute)).map((row) => row.price));
}

function expectedChange(rows: readonly FixturePrice[], at: number, source?: string): number | null {
  const [now, then] = [closeAt(rows, at, source), closeAt(rows, at - DAY, source)];
  return now === null || then === null ? null : (now / then - 1) * 100;
}

/** The spread from the raw prices: each source's last price of the day, for the sources within a minute of the newest. */
function expectedSpread(rows: readonly FixturePrice[], at: number): ProviderSpread | null {
  const last = lastBySource(dayBefore(rows, at));
  if (last.length === 0) return null;
  const newest = Math.max(...last.map((row) => row.ts));
  const sources = last.filter((row) => row.ts > newest - MINUTE).map((row) => ({ source: row.source!, priceUsd: row.price, ts: row.ts }));
  const prices = sources.map((s) => s.priceUsd);
  const [min, max, middle] = [Math.min(...prices), Math.max(...prices), median(prices)];
  return { sources, min, max, median: middle, spreadPct: ((max - min) / middle) * 100 };
}

/** Figures to 12 significant digits: DuckDB's median may differ from the mean of the two middle prices in the last bit. */
const rounded = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(12) : v)));

describe('the 24h change and the provider spread of the indicators', () => {
  const rows = fixturePrices();
  let fixture: FixtureLake;
  let lake: Lake;

  before(async () => {
    fixture = await FixtureLake.create();
    // Every other price in a later pass of commits: each minute has partials from more than one commit, as late prices make them.
    for (const pass of [rows.filter((_, i) => i % 2 === 0), rows.filter((_, i) => i % 2 === 1)])
      for (let i = 0; i < pass.length; i += 2_500) await fixture.writePrices(pass.slice(i, i + 2_500));
    await fixture.rows(`CALL ducklake_flush_inlined_data('lake')`);
    lake = await Lake.open(fixture.location, OPTIONS, silentLogger, new Metrics());
  });

  after(async () => {
    await lake.close();
    await fixture.remove();
  });

  async function figures(at: number, source?: string) {
    const result = await indicators(lake, createLakeQueries(lake), { symbol: 'BTC', interval: '1h', window: 3, at, source });
    return { change24hPct: result.change24hPct, spread: result.spread };
  }

  for (const [name, at] of [
    ['on a whole minute', ON_MINUTE],
    ['mid-minute', MID_MINUTE],
  ] as const)
    for (const source of [undefined, 'coingecko', 'kraken', 'stale', 'newcomer', 'early', 'exact', 'nobody'])
      it(`gives the change and spread computed from the raw prices at an instant ${name}${source ? ` with source=${source}` : ''}`, async () => {
        const expected = { change24hPct: expectedChange(rows, at, source), spread: expectedSpread(rows, at) };
        assert.deepEqual(rounded(await figures(at, source)), rounded(expected));
      });

  it('covers what it claims: a source missing a day before, a stale source, the prices exactly at the instants', async () => {
    const composite = await figures(ON_MINUTE);
    // The price 1 ms after `at` (500) would move the close; the change stays small.
    assert.ok(Math.abs(composite.change24hPct!) < 10, `change ${composite.change24hPct}`);
    assert.deepEqual(
      composite.spread?.sources.map((s) => s.source),
      ['coingecko', 'kraken', 'newcomer'],
    );
    assert.equal(composite.spread?.sources[0]?.ts, ON_MINUTE, 'coingecko’s price exactly at `at` counts');
    const midMinute = await figures(MID_MINUTE);
    assert.deepEqual(
      midMinute.spread?.sources.map((s) => s.source),
      ['coingecko', 'kraken', 'newcomer', 'stale'],
    );
    // Nothing of the newcomer's a day before: no change. Kraken's close a day before is its last before its gap.
    assert.equal((await figures(ON_MINUTE, 'newcomer')).change24hPct, null);
    assert.notEqual((await figures(ON_MINUTE, 'kraken')).change24hPct, null);
    // A price exactly at `at - 24h` is the close then and now; one before the first whole minute of a day window is not in it.
    assert.equal((await figures(ON_MINUTE, 'exact')).change24hPct, 0);
    assert.equal((await figures(MID_MINUTE, 'early')).change24hPct, null);
    assert.deepEqual(await figures(ON_MINUTE, 'nobody'), { change24hPct: null, spread: composite.spread });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { implausibleEventTime, partKey, utcDay } from './partitioning.ts';

describe('partitioning', () => {
  it('puts 23:59:59.999 UTC on its own day and 00:00:00.000 on the next', () => {
    assert.deepEqual(utcDay(Date.UTC(2026, 10, 21, 23, 59, 59, 999)), { year: '2026', month: '11', day: '21' });
    assert.deepEqual(utcDay(Date.UTC(2026, 10, 22, 0, 0, 0, 0)), { year: '2026', month: '11', day: '22' });
    assert.deepEqual(utcDay(Date.UTC(2027, 0, 5)), { year: '2027', month: '01', day: '05' });
  });

  it('names a file from its dataset, day and zero-padded offset range so names sort', () => {
    const key = partKey('prices', utcDay(Date.UTC(2026, 10, 22)), { topic: 'prices', partition: 0, firstOffset: 123, lastOffset: 456 });
    assert.equal(key, 'prices/year=2026/month=11/day=22/part-prices-p0-o000000000123-o000000000456.parquet');
  });

  it('calls event times before 2009-01-03 or over a day ahead of the clock implausible', () => {
    const now = Date.UTC(2026, 10, 22);
    assert.match(implausibleEventTime(Date.UTC(2009, 0, 2), now) ?? '', /before 2009-01-03/);
    assert.match(implausibleEventTime(now + 86_400_001, now) ?? '', /more than a day ahead/);
    assert.equal(implausibleEventTime(Date.UTC(2009, 0, 3), now), undefined);
    assert.equal(implausibleEventTime(now + 86_400_000, now), undefined);
  });
});

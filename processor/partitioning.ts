/**
 * Where a record lands in the lake: the UTC day of its event time picks the hive folder
 * (`prices/year=2026/month=11/day=22/`), and the bus range it came from names the file, so a
 * batch replayed after a crash overwrites its own object instead of adding a second one.
 */

/** The first Bitcoin block: no market data can be older. */
export const MIN_EVENT_TIME_MS = Date.UTC(2009, 0, 3);
/** How far ahead of our clock an event time may be before it counts as absurd. */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;

/** A UTC calendar day, zero-padded as it appears in hive paths. */
export interface Day {
  year: string;
  month: string;
  day: string;
}

/** The UTC day of an epoch-ms time. */
export function utcDay(epochMs: number): Day {
  const date = new Date(epochMs);
  return {
    year: String(date.getUTCFullYear()).padStart(4, '0'),
    month: String(date.getUTCMonth() + 1).padStart(2, '0'),
    day: String(date.getUTCDate()).padStart(2, '0'),
  };
}

/** `prices/year=2026/month=11/day=22` (no trailing slash). */
export function dayFolder(dataset: string, day: Day): string {
  return `${dataset}/year=${day.year}/month=${day.month}/day=${day.day}`;
}

/** The bus range a file holds: topic, partition and the first and last offset (inclusive). */
export interface OffsetRange {
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
}

const OFFSET_DIGITS = 12;

/**
 * The object key of one day's file of one flushed range, e.g.
 * `prices/year=2026/month=11/day=22/part-prices-p0-o000000000123-o000000000456.parquet`.
 * Offsets are zero-padded so names sort in offset order.
 */
export function partKey(dataset: string, day: Day, range: OffsetRange): string {
  const first = String(range.firstOffset).padStart(OFFSET_DIGITS, '0');
  const last = String(range.lastOffset).padStart(OFFSET_DIGITS, '0');
  return `${dayFolder(dataset, day)}/part-${range.topic}-p${range.partition}-o${first}-o${last}.parquet`;
}

/**
 * Why an event time cannot be partitioned, or `undefined` when it is plausible: before
 * 2009-01-03 or more than a day ahead of `nowMs` is a broken clock or unit, not a price.
 */
export function implausibleEventTime(epochMs: number, nowMs: number): string | undefined {
  if (!Number.isFinite(epochMs)) return `event time ${epochMs} is not a number`;
  if (epochMs < MIN_EVENT_TIME_MS) return `event time ${epochMs} is before 2009-01-03`;
  if (epochMs > nowMs + MAX_FUTURE_MS) return `event time ${epochMs} is more than a day ahead of the clock (${nowMs})`;
  return undefined;
}

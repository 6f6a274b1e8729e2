/**
 * Which event times the lake takes: a record's event time picks its partition (the UTC day), so a
 * time from a broken clock or the wrong unit (seconds for milliseconds) is rejected, not filed.
 */

/** The first Bitcoin block: no market data can be older. */
export const MIN_EVENT_TIME_MS = Date.UTC(2009, 0, 3);
/** How far ahead of our clock an event time may be before it counts as absurd. */
export const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;

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

import type { Candle, Tick } from './api.ts';

/** Most ids remembered for dedupe; older ones are in the lake by then. */
const MAX_IDS = 20_000;

/**
 * Merges live ticks into candles read from the lake, without gaps or doubles:
 * - a tick is applied once per id, however often it arrives (the bus delivers at least once);
 * - a tick at or before the lake's newest observation of the symbol is already in the candles;
 * - high/low/close merge by max, min and latest time, so a tick that was also in the lake
 *   changes nothing but its bucket's count.
 * Pure data, no DOM: unit-tested.
 */
export class LiveMerge {
  private readonly seen = new Set<string>();
  private pending: Tick[] = [];

  /** True if this id is new (and remembers it). */
  admit(tick: Tick): boolean {
    if (this.seen.has(tick.id)) return false;
    this.seen.add(tick.id);
    if (this.seen.size > MAX_IDS) this.seen.delete(this.seen.values().next().value!);
    return true;
  }

  /** Keeps a tick to re-apply after the next lake refresh. */
  hold(tick: Tick): void {
    this.pending.push(tick);
    if (this.pending.length > 5_000) this.pending = this.pending.slice(-5_000);
  }

  /** The ticks of `symbol` newer than the lake's newest time; drops the ones the lake now holds. */
  newerThan(symbol: string, lakeNewest: number): Tick[] {
    this.pending = this.pending.filter((t) => t.symbol !== symbol || t.ts > lakeNewest);
    return this.pending.filter((t) => t.symbol === symbol);
  }
}

/** The candles with `tick` applied to its bucket; returns the changed or added candle, or undefined when too old. */
export function applyTick(candles: Candle[], tick: Tick, widthMs: number): Candle | undefined {
  const time = Math.floor(tick.ts / widthMs) * widthMs;
  const last = candles.at(-1);
  const price = tick.price_usd;
  if (!last || time > last.time) {
    const fresh = { time, open: price, high: price, low: price, close: price, count: 1, closeTs: tick.ts };
    candles.push(fresh);
    return fresh;
  }
  const candle = time === last.time ? last : candles.find((c) => c.time === time);
  if (!candle) return undefined;
  candle.high = Math.max(candle.high, price);
  candle.low = Math.min(candle.low, price);
  const closeTs = (candle as Candle & { closeTs?: number }).closeTs ?? candle.time;
  if (tick.ts >= closeTs) {
    candle.close = price;
    (candle as Candle & { closeTs?: number }).closeTs = tick.ts;
  }
  candle.count += 1;
  return candle;
}

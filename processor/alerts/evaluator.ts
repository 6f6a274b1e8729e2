import { alertId, type Alert } from '../../core/records/alert.ts';
import type { PriceRecord } from '../../core/records/price.ts';
import type { AlertRule, RuleOf } from './rules.ts';

/** One price series (a symbol from one source): what the series rules need of its past. */
interface Series {
  lastTs: number;
  lastPrice: number;
  /** (ts, price) of the last `longest move window`, oldest first */
  points: [number, number][];
  /** log returns, oldest first, at most the longest z-score window */
  returns: number[];
}

/** Prices of one symbol by source within one minute, for divergence. */
interface Minute {
  minute: number;
  prices: Record<string, number>;
}

/**
 * Everything the evaluator remembers, as plain JSON so it can be saved with the offsets it
 * covers and restored after a restart: a restored evaluator raises exactly the alerts the
 * original would have.
 */
export interface EvaluatorState {
  series: Record<string, Series>;
  minutes: Record<string, Minute>;
  /** event time each (rule, symbol, source) last fired, for cool-downs */
  lastFired: Record<string, number>;
  /** records older than their series' newest, not evaluated */
  late: number;
}

export function emptyState(): EvaluatorState {
  return { series: {}, minutes: {}, lastFired: {}, late: 0 };
}

const MINUTE_MS = 60_000;

/**
 * Evaluates alert rules on the price stream, record by record, in event time per series (symbol
 * and source). Series rules (price_cross, move, zscore) compare a record with its own series'
 * past; divergence compares sources of one symbol within a minute. A record older than its
 * series' newest is counted as late and not evaluated. Memory is bounded by the rules' windows.
 */
export class AlertEvaluator {
  private readonly longestMoveMs: number;
  private readonly longestZWindow: number;

  constructor(
    private readonly rules: AlertRule[],
    private state: EvaluatorState = emptyState(),
    private readonly now: () => number = Date.now,
  ) {
    this.longestMoveMs = Math.max(0, ...rules.filter(isType('move')).map((rule) => rule.windowMs));
    this.longestZWindow = Math.max(0, ...rules.filter(isType('zscore')).map((rule) => rule.window));
  }

  /** The state to save; treat it as read-only. */
  snapshot(): EvaluatorState {
    return this.state;
  }

  /** Evaluates one record and returns the alerts it raises (after cool-downs). */
  evaluate(record: PriceRecord): Alert[] {
    const alerts: Alert[] = [];
    const key = `${record.symbol}|${record.source}`;
    const series = this.state.series[key];
    if (series && record.ts <= series.lastTs) {
      this.state.late++;
      return alerts;
    }
    const rules = this.rules.filter((rule) => !rule.symbols || rule.symbols.includes(record.symbol));
    if (series) {
      for (const rule of rules) {
        const hit = this.check(rule, record, series);
        if (hit) this.fire(alerts, rule, record, hit);
      }
    }
    this.remember(key, record, series);
    for (const rule of rules.filter(isType('divergence'))) {
      const hit = this.divergence(rule, record);
      if (hit) this.fire(alerts, rule, record, hit);
    }
    this.recordMinute(record);
    return alerts;
  }

  private check(rule: AlertRule, record: PriceRecord, series: Series): Hit | undefined {
    switch (rule.type) {
      case 'price_cross':
        return priceCross(rule, series.lastPrice, record.price_usd);
      case 'move':
        return move(rule, series.points, record);
      case 'zscore':
        return zscore(rule, series.returns, Math.log(record.price_usd / series.lastPrice));
      case 'divergence':
        return undefined;
    }
  }

  private divergence(rule: RuleOf<'divergence'>, record: PriceRecord): Hit | undefined {
    const minute = this.state.minutes[record.symbol];
    if (!minute || minute.minute !== Math.floor(record.ts / MINUTE_MS)) return undefined;
    const others = Object.entries(minute.prices)
      .filter(([source]) => source !== record.source)
      .map(([, price]) => price);
    if (others.length < rule.minOthers) return undefined;
    const reference = median(others);
    const deviation = (record.price_usd / reference - 1) * 100;
    if (Math.abs(deviation) < rule.pct) return undefined;
    return {
      value: deviation,
      threshold: rule.pct,
      message: `${record.symbol} from ${record.source} is ${signed(deviation)}% from the median of ${others.length} other sources (${reference})`,
    };
  }

  private fire(alerts: Alert[], rule: AlertRule, record: PriceRecord, hit: Hit): void {
    const key = `${rule.id}|${record.symbol}|${record.source}`;
    const last = this.state.lastFired[key];
    if (last !== undefined && record.ts - last < rule.cooldownMs) return;
    this.state.lastFired[key] = record.ts;
    alerts.push({
      id: alertId(rule.id, record.symbol, record.source, record.ts),
      ts: record.ts,
      rule: rule.id,
      type: rule.type,
      symbol: record.symbol,
      source: record.source,
      value: hit.value,
      threshold: hit.threshold,
      message: hit.message,
      raised_at: this.now(),
    });
  }

  private remember(key: string, record: PriceRecord, series: Series | undefined): void {
    const next: Series = series ?? { lastTs: record.ts, lastPrice: record.price_usd, points: [], returns: [] };
    if (series) {
      next.returns.push(Math.log(record.price_usd / series.lastPrice));
      if (next.returns.length > this.longestZWindow) next.returns.splice(0, next.returns.length - this.longestZWindow);
    }
    next.points.push([record.ts, record.price_usd]);
    const oldest = record.ts - this.longestMoveMs;
    const keepFrom = next.points.findIndex(([ts]) => ts >= oldest);
    if (keepFrom > 0) next.points.splice(0, keepFrom);
    next.lastTs = record.ts;
    next.lastPrice = record.price_usd;
    this.state.series[key] = next;
  }

  private recordMinute(record: PriceRecord): void {
    const minute = Math.floor(record.ts / MINUTE_MS);
    const current = this.state.minutes[record.symbol];
    if (!current || minute > current.minute) this.state.minutes[record.symbol] = { minute, prices: { [record.source]: record.price_usd } };
    else if (minute === current.minute) current.prices[record.source] = record.price_usd;
  }
}

interface Hit {
  value: number;
  threshold: number;
  message: string;
}

function priceCross(rule: RuleOf<'price_cross'>, previous: number, price: number): Hit | undefined {
  const up = previous < rule.level && price >= rule.level;
  const down = previous > rule.level && price <= rule.level;
  if ((up && rule.direction !== 'below') || (down && rule.direction !== 'above')) {
    return { value: price, threshold: rule.level, message: `crossed ${up ? 'above' : 'below'} ${rule.level} at ${price}` };
  }
  return undefined;
}

function move(rule: RuleOf<'move'>, points: [number, number][], record: PriceRecord): Hit | undefined {
  const from = record.ts - rule.windowMs;
  const reference = points.find(([ts]) => ts >= from);
  if (!reference) return undefined;
  const change = (record.price_usd / reference[1] - 1) * 100;
  if (Math.abs(change) < rule.pct) return undefined;
  const minutes = Math.round((record.ts - reference[0]) / MINUTE_MS);
  return { value: change, threshold: rule.pct, message: `moved ${signed(change)}% in ${minutes} min to ${record.price_usd}` };
}

function zscore(rule: RuleOf<'zscore'>, returns: number[], current: number): Hit | undefined {
  if (returns.length < rule.window) return undefined;
  const window = returns.slice(returns.length - rule.window);
  const mean = window.reduce((sum, r) => sum + r, 0) / window.length;
  const variance = window.reduce((sum, r) => sum + (r - mean) ** 2, 0) / (window.length - 1);
  const std = Math.sqrt(variance);
  if (std === 0) return undefined;
  const z = (current - mean) / std;
  if (Math.abs(z) < rule.threshold) return undefined;
  return { value: z, threshold: rule.threshold, message: `return z-score ${z.toFixed(1)} over the last ${rule.window} returns` };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
}

function isType<T extends AlertRule['type']>(type: T) {
  return (rule: AlertRule): rule is RuleOf<T> => rule.type === type;
}

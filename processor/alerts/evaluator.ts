import { alertId, type Alert } from '../../core/records/alert.ts';
import { median } from '../../core/median.ts';
import type { PriceRecord } from '../../core/records/price.ts';
import type { AlertRule, RuleOf, SeriesRule } from './rules.ts';

/** The `source` of the composite series and of the alerts raised on it. */
export const COMPOSITE_SOURCE = 'composite';
/** A source takes part in its symbol's composite while its newest price is at most this old (event time, against the symbol's newest). */
export const COMPOSITE_WINDOW_MS = 60_000;

/** One price series (a symbol from one source, or its composite): what the series rules need of its past. */
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

/** Each source's newest (ts, price) of one symbol, and the composite value they last made. */
interface Composite {
  sources: Record<string, [number, number]>;
  value?: number;
}

/** A price the series rules look at: one source's record, or a symbol's composite (with the sources it is the median of). */
interface Point {
  symbol: string;
  source: string;
  ts: number;
  price_usd: number;
  of?: string[];
}

/**
 * Everything the evaluator remembers, as plain JSON so it can be saved with the offsets it
 * covers and restored after a restart: a restored evaluator raises exactly the alerts the
 * original would have.
 */
export interface EvaluatorState {
  series: Record<string, Series>;
  minutes: Record<string, Minute>;
  /** per symbol, what its composite is made of */
  composites: Record<string, Composite>;
  /** event time each (rule, symbol, source) last fired, for cool-downs */
  lastFired: Record<string, number>;
  /** records older than their series' newest, not evaluated */
  late: number;
}

export function emptyState(): EvaluatorState {
  return { series: {}, minutes: {}, composites: {}, lastFired: {}, late: 0 };
}

const MINUTE_MS = 60_000;

/**
 * Evaluates alert rules on the price stream, record by record, in event time per series. A series
 * rule (price_cross, move, zscore) with a `source` watches that source's prices alone; without one
 * it watches the symbol's composite, the rule the candles and indicators use: the median of the
 * newest price of every source heard from within `COMPOSITE_WINDOW_MS`, a new point each time that
 * median changes, so one outlying source cannot drag it. Divergence compares one source with the
 * median of the others within a minute. A record older than its source's newest is counted as late
 * and not evaluated. Memory is bounded by the rules' windows and the sources per symbol.
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
    const key = seriesKey(record.symbol, record.source);
    if (this.isLate(key, record)) {
      this.state.late++;
      return [];
    }
    const rules = this.rules.filter((rule) => !rule.symbols || rule.symbols.includes(record.symbol));
    const seriesRules = rules.filter(isSeriesRule);
    const alerts = [
      ...this.step(
        key,
        record,
        seriesRules.filter((rule) => rule.source === record.source),
      ),
      ...this.compositeStep(
        record,
        seriesRules.filter((rule) => rule.source === undefined),
      ),
      ...this.divergenceStep(record, rules.filter(isType('divergence'))),
    ];
    this.recordMinute(record);
    return alerts;
  }

  private isLate(key: string, record: PriceRecord): boolean {
    const series = this.state.series[key];
    return series !== undefined && record.ts <= series.lastTs;
  }

  /** Checks a point against its series' past, then adds it to the series. */
  private step(key: string, point: Point, rules: SeriesRule[]): Alert[] {
    const series = this.state.series[key];
    const alerts = series ? rules.flatMap((rule) => this.fire(rule, point, check(rule, point, series))) : [];
    this.remember(key, point, series);
    return alerts;
  }

  /** Moves the symbol's composite with the record and, when its value changed, steps the composite series. */
  private compositeStep(record: PriceRecord, rules: SeriesRule[]): Alert[] {
    const point = this.moveComposite(record);
    return point ? this.step(seriesKey(record.symbol, COMPOSITE_SOURCE), point, rules) : [];
  }

  private moveComposite(record: PriceRecord): Point | undefined {
    const composite = (this.state.composites[record.symbol] ??= { sources: {} });
    composite.sources[record.source] = [record.ts, record.price_usd];
    const newest = Math.max(...Object.values(composite.sources).map(([ts]) => ts));
    for (const [source, [ts]] of Object.entries(composite.sources)) {
      if (ts < newest - COMPOSITE_WINDOW_MS) delete composite.sources[source];
    }
    const value = median(Object.values(composite.sources).map(([, price]) => price));
    if (value === composite.value) return undefined;
    composite.value = value;
    // At the newest source's time: a composite point never goes back in time.
    return { symbol: record.symbol, source: COMPOSITE_SOURCE, ts: newest, price_usd: value, of: Object.keys(composite.sources).sort() };
  }

  private divergenceStep(record: PriceRecord, rules: RuleOf<'divergence'>[]): Alert[] {
    return rules.flatMap((rule) => this.fire(rule, record, this.divergence(rule, record)));
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

  /** The alert of a hit, unless the rule is cooling down for the point's symbol and source. */
  private fire(rule: AlertRule, point: Point, hit: Hit | undefined): Alert[] {
    if (!hit) return [];
    const key = `${rule.id}|${point.symbol}|${point.source}`;
    const last = this.state.lastFired[key];
    if (last !== undefined && point.ts - last < rule.cooldownMs) return [];
    this.state.lastFired[key] = point.ts;
    return [
      {
        id: alertId(rule.id, point.symbol, point.source, point.ts),
        ts: point.ts,
        rule: rule.id,
        type: rule.type,
        symbol: point.symbol,
        source: point.source,
        value: hit.value,
        threshold: hit.threshold,
        message: point.of ? `${hit.message} (median of ${point.of.join(', ')})` : hit.message,
        raised_at: this.now(),
      },
    ];
  }

  private remember(key: string, point: Point, series: Series | undefined): void {
    const next: Series = series ?? { lastTs: point.ts, lastPrice: point.price_usd, points: [], returns: [] };
    if (series) {
      next.returns.push(Math.log(point.price_usd / series.lastPrice));
      if (next.returns.length > this.longestZWindow) next.returns.splice(0, next.returns.length - this.longestZWindow);
    }
    next.points.push([point.ts, point.price_usd]);
    const oldest = point.ts - this.longestMoveMs;
    const keepFrom = next.points.findIndex(([ts]) => ts >= oldest);
    if (keepFrom > 0) next.points.splice(0, keepFrom);
    next.lastTs = point.ts;
    next.lastPrice = point.price_usd;
    this.state.series[key] = next;
  }

  private recordMinute(record: PriceRecord): void {
    const minute = Math.floor(record.ts / MINUTE_MS);
    const current = this.state.minutes[record.symbol];
    if (!current || minute > current.minute) this.state.minutes[record.symbol] = { minute, prices: { [record.source]: record.price_usd } };
    else if (minute === current.minute) current.prices[record.source] = record.price_usd;
  }
}

function seriesKey(symbol: string, source: string): string {
  return `${symbol}|${source}`;
}

function check(rule: SeriesRule, point: Point, series: Series): Hit | undefined {
  switch (rule.type) {
    case 'price_cross':
      return priceCross(rule, series.lastPrice, point.price_usd);
    case 'move':
      return move(rule, series.points, point);
    case 'zscore':
      return zscore(rule, series.returns, Math.log(point.price_usd / series.lastPrice));
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

function move(rule: RuleOf<'move'>, points: [number, number][], point: Point): Hit | undefined {
  const from = point.ts - rule.windowMs;
  const reference = points.find(([ts]) => ts >= from);
  if (!reference) return undefined;
  const change = (point.price_usd / reference[1] - 1) * 100;
  if (Math.abs(change) < rule.pct) return undefined;
  const minutes = Math.round((point.ts - reference[0]) / MINUTE_MS);
  return { value: change, threshold: rule.pct, message: `moved ${signed(change)}% in ${minutes} min to ${point.price_usd}` };
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

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
}

function isSeriesRule(rule: AlertRule): rule is SeriesRule {
  return rule.type !== 'divergence';
}

function isType<T extends AlertRule['type']>(type: T) {
  return (rule: AlertRule): rule is RuleOf<T> => rule.type === type;
}

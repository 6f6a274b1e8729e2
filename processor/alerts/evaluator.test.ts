import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toPriceRecord, type PriceRecord } from '../../core/records/price.ts';
import type { Alert } from '../../core/records/alert.ts';
import { AlertEvaluator, type EvaluatorState } from './evaluator.ts';
import { AlertRules, loadAlertRules, type AlertRule } from './rules.ts';
import { minuteFileRecords } from './testing/minute-file.ts';

const seriesRules = [
  { id: 'btc-22k', type: 'price_cross', level: 22_000, cooldownMs: 0 },
  { id: 'btc-25k-up', type: 'price_cross', level: 25_000, direction: 'above', cooldownMs: 0 },
  { id: 'move-1pct-30m', type: 'move', pct: 1, windowMs: 30 * 60_000, cooldownMs: 60 * 60_000 },
  { id: 'zscore-5', type: 'zscore', window: 60, threshold: 5, cooldownMs: 10 * 60_000 },
];
/** The rules on the composite (no `source`, the default). */
const rules: AlertRule[] = AlertRules.parse(seriesRules);
/** The same rules on one source's prices alone. */
const binanceRules: AlertRule[] = AlertRules.parse(seriesRules.map((rule) => ({ ...rule, source: 'binanceus' })));

/**
 * What the rules mean, computed straight from the whole series with no incremental state: the
 * reference the evaluator must agree with.
 */
function expectedAlerts(series: PriceRecord[], rule: AlertRule): number[] {
  const fired: number[] = [];
  const returns = series.slice(1).map((point, k) => Math.log(point.price_usd / series[k]!.price_usd));
  const cooled = (ts: number) => fired.length === 0 || ts - fired.at(-1)! >= rule.cooldownMs;
  for (let i = 1; i < series.length; i++) {
    const { ts, price_usd: price } = series[i]!;
    let hit = false;
    if (rule.type === 'price_cross') {
      const previous = series[i - 1]!.price_usd;
      const up = previous < rule.level && price >= rule.level;
      const down = previous > rule.level && price <= rule.level;
      hit = (up && rule.direction !== 'below') || (down && rule.direction !== 'above');
    } else if (rule.type === 'move') {
      const first = firstAtOrAfter(series, ts - rule.windowMs);
      hit = first < i && Math.abs((price / series[first]!.price_usd - 1) * 100) >= rule.pct;
    } else if (rule.type === 'zscore' && i - 1 >= rule.window) {
      // the returns before this point's own (returns[k] is the step to series[k + 1])
      const window = returns.slice(i - 1 - rule.window, i - 1);
      const mean = window.reduce((a, b) => a + b, 0) / window.length;
      const std = Math.sqrt(window.reduce((a, r) => a + (r - mean) ** 2, 0) / (window.length - 1));
      hit = std > 0 && Math.abs((Math.log(price / series[i - 1]!.price_usd) - mean) / std) >= rule.threshold;
    }
    if (hit && cooled(ts)) fired.push(ts);
  }
  return fired;
}

/** The index of the first point at or after `ts` in a series sorted by time (its length when none). */
function firstAtOrAfter(series: PriceRecord[], ts: number): number {
  let low = 0;
  let high = series.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (series[middle]!.ts < ts) low = middle + 1;
    else high = middle;
  }
  return low;
}

function evaluateAll(evaluator: AlertEvaluator, records: PriceRecord[]): Alert[] {
  return records.flatMap((record) => evaluator.evaluate(record));
}

describe('AlertEvaluator', () => {
  const btc = minuteFileRecords('binanceus_BTCUSDT_1m_20230301_20230321.csv', 'binanceus');

  it("raises on three weeks of one source's real minute prices exactly the alerts a direct computation predicts", () => {
    const alerts = evaluateAll(new AlertEvaluator(binanceRules), btc);
    for (const rule of binanceRules) {
      const expected = expectedAlerts(btc, rule);
      assert.ok(expected.length > 0, `${rule.id} fires at least once on this file`);
      assert.deepEqual(
        alerts.filter((alert) => alert.rule === rule.id).map((alert) => alert.ts),
        expected,
        rule.id,
      );
    }
    assert.ok(alerts.every((alert) => alert.source === 'binanceus'));
  });

  it('raises on the composite of one source the alerts of its price changes', () => {
    const alerts = evaluateAll(new AlertEvaluator(rules), btc);
    const changes = btc.filter((record, i) => i === 0 || record.price_usd !== btc[i - 1]!.price_usd);
    assert.ok(changes.length < btc.length, 'the file repeats a price somewhere');
    assert.ok(alerts.every((alert) => alert.source === 'composite' && alert.message.endsWith('(median of binanceus)')));
    for (const rule of rules) {
      const expected = expectedAlerts(changes, rule);
      assert.ok(expected.length > 0, `${rule.id} fires at least once on this file`);
      assert.deepEqual(
        alerts.filter((alert) => alert.rule === rule.id).map((alert) => alert.ts),
        expected,
        rule.id,
      );
    }
  });

  it('raises the same alerts after a restart from saved state, and the same ids when replaying after a crash', () => {
    const once = evaluateAll(new AlertEvaluator(rules), btc);
    const first = new AlertEvaluator(rules);
    const half = Math.floor(btc.length / 2);
    const before = evaluateAll(first, btc.slice(0, half));
    const saved = JSON.parse(JSON.stringify(first.snapshot())) as EvaluatorState;
    // The crashed process went on past the save and raised alerts it never recorded as done.
    const lostWork = evaluateAll(first, btc.slice(half, half + 500));
    const restored = new AlertEvaluator(rules, saved);
    const after = evaluateAll(restored, btc.slice(half));
    assert.deepEqual(
      [...before, ...after].map((alert) => alert.id),
      once.map((alert) => alert.id),
    );
    const afterIds = new Set(after.map((alert) => alert.id));
    assert.ok(
      lostWork.every((alert) => afterIds.has(alert.id)),
      'a replayed alert has the id it had before the crash',
    );
  });

  it('flags a source that strays from the median of the others in the same minute', () => {
    const sources = [
      minuteFileRecords('binanceus_BTCUSDT_1m_20230301_20230321.csv', 'binanceus-usdt'),
      minuteFileRecords('binanceus_BTCUSD_1m_20230301_20230321.csv', 'binanceus-usd'),
    ];
    // A third feed that agrees except for a few minutes where it is 2% off.
    const off = new Set([1_000, 5_000, 20_000]);
    const third = sources[0]!.map((record, i) =>
      toPriceRecord(
        { source: 'third', symbol: 'BTC', ts: record.ts, price_usd: record.price_usd * (off.has(i) ? 1.02 : 1.0005) },
        record.ts,
      ),
    );
    const stream = [...sources[0]!, ...sources[1]!, ...third].sort((a, b) => a.ts - b.ts);
    const evaluator = new AlertEvaluator(AlertRules.parse([{ id: 'diverge-1pct', type: 'divergence', pct: 1, cooldownMs: 0 }]));
    const alerts = evaluateAll(evaluator, stream);
    assert.deepEqual(
      alerts.filter((alert) => alert.source === 'third').map((alert) => alert.ts),
      [...off].map((i) => sources[0]![i]!.ts),
    );
    assert.ok(alerts.every((alert) => Math.abs(alert.value) >= 1));
  });

  it('moves the composite when the median of the sources moves, not when one source strays', () => {
    const at = (minute: number) => Date.UTC(2026, 0, 1) + minute * 60_000;
    const tick = (source: string, minute: number, price: number) =>
      toPriceRecord({ source, symbol: 'BTC', ts: at(minute), price_usd: price }, at(minute));
    const evaluator = new AlertEvaluator(
      AlertRules.parse([
        { id: 'cross-100', type: 'price_cross', level: 100, cooldownMs: 0 },
        { id: 'c-cross-100', type: 'price_cross', level: 100, source: 'c', cooldownMs: 0 },
      ]),
    );
    const raised = (record: PriceRecord) => evaluator.evaluate(record).map((alert) => `${alert.rule}@${alert.ts - at(0)}`);
    assert.deepEqual([tick('a', 0, 99), tick('b', 0, 99), tick('c', 0, 99)].flatMap(raised), []);
    // c alone above the level: its own rule fires, the composite (median 99) does not.
    assert.deepEqual(raised(tick('c', 1, 150)), ['c-cross-100@60000']);
    // a joins it: the median crosses, at the newest source's time.
    assert.deepEqual(raised(tick('a', 1, 101)), ['cross-100@60000']);
    const [alert] = evaluator.evaluate(tick('b', 2, 98)).concat(evaluator.evaluate(tick('a', 2, 97)));
    assert.equal(alert?.source, 'composite');
    assert.match(alert!.message, /crossed below 100 at 98 \(median of a, b, c\)/);
    // c has been quiet for a minute: the composite is the median of a and b alone.
    assert.deepEqual(raised(tick('b', 3, 103)), ['cross-100@180000']);
    assert.deepEqual(Object.keys(evaluator.snapshot().composites.BTC!.sources).sort(), ['a', 'b']);
  });

  it('lets no outlying source draw a composite alert on three weeks of real prices', () => {
    const honest = [
      minuteFileRecords('binanceus_BTCUSDT_1m_20230301_20230321.csv', 'binanceus-usdt'),
      minuteFileRecords('binanceus_BTCUSD_1m_20230301_20230321.csv', 'binanceus-usd'),
    ];
    const high = Math.max(...honest.flat().map((record) => record.price_usd));
    // A third feed 5 bp above the first, except for three minutes where it prints above anything the others reach.
    const spikes = new Set([1_000, 5_000, 20_000]);
    const level = high * 1.02;
    const bad = honest[0]!.map((record, i) =>
      toPriceRecord(
        { source: 'bad', symbol: 'BTC', ts: record.ts, price_usd: spikes.has(i) ? high * 1.05 : record.price_usd * 1.0005 },
        record.ts,
      ),
    );
    const stream = [...honest.flat(), ...bad].sort((a, b) => a.ts - b.ts);
    const evaluator = new AlertEvaluator(
      AlertRules.parse([
        { id: 'spike', type: 'price_cross', level, direction: 'above', cooldownMs: 0 },
        { id: 'bad-spike', type: 'price_cross', level, direction: 'above', source: 'bad', cooldownMs: 0 },
      ]),
    );
    const alerts = evaluateAll(evaluator, stream);
    assert.deepEqual(
      alerts.filter((alert) => alert.rule === 'spike'),
      [],
    );
    assert.deepEqual(
      alerts.filter((alert) => alert.rule === 'bad-spike').map((alert) => alert.ts),
      [...spikes].map((i) => bad[i]!.ts),
    );
  });

  it('skips a record older than its series, counting it as late', () => {
    const evaluator = new AlertEvaluator(rules);
    evaluateAll(evaluator, btc.slice(0, 10));
    assert.deepEqual(evaluator.evaluate(btc[3]!), []);
    assert.equal(evaluator.snapshot().late, 1);
  });

  it('keeps memory bounded by the rules windows', () => {
    const evaluator = new AlertEvaluator(rules);
    evaluateAll(evaluator, btc);
    const series = evaluator.snapshot().series['BTC|binanceus']!;
    assert.ok(series.points.length <= 31, `${series.points.length} points kept for a 30-minute window`);
    assert.equal(series.returns.length, 60);
  });
});

describe('loadAlertRules', () => {
  it('reads rules from ALERT_RULES and applies defaults', () => {
    const [rule] = loadAlertRules({ ALERT_RULES: '[{"id":"btc-100k","type":"price_cross","level":100000,"symbols":["BTC"]}]' });
    assert.deepEqual(rule, {
      id: 'btc-100k',
      type: 'price_cross',
      level: 100_000,
      symbols: ['BTC'],
      direction: 'both',
      cooldownMs: 900_000,
    });
  });

  it('has no rules when none are configured', () => {
    assert.deepEqual(loadAlertRules({}), []);
  });

  it('names the rule and field that is wrong', () => {
    assert.throws(
      () => loadAlertRules({ ALERT_RULES: '[{"id":"m","type":"move","pct":-1,"windowMs":60000}]' }),
      /ALERT_RULES: 0\.pct: Too small/,
    );
    assert.throws(
      () =>
        loadAlertRules({ ALERT_RULES: '[{"id":"a","type":"move","pct":1,"windowMs":1},{"id":"a","type":"move","pct":2,"windowMs":1}]' }),
      /duplicate rule id a/,
    );
    assert.throws(() => loadAlertRules({ ALERT_RULES: 'not json' }), /ALERT_RULES: Unexpected token/);
  });
});

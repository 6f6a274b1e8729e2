import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { toPriceRecord, type PriceRecord } from '../../core/records/price.ts';
import type { Alert } from '../../core/records/alert.ts';
import { AlertEvaluator, type EvaluatorState } from './evaluator.ts';
import { AlertRules, loadAlertRules, type AlertRule } from './rules.ts';
import { minuteFileRecords } from './testing/minute-file.ts';

const rules: AlertRule[] = AlertRules.parse([
  { id: 'btc-22k', type: 'price_cross', level: 22_000, cooldownMs: 0 },
  { id: 'btc-25k-up', type: 'price_cross', level: 25_000, direction: 'above', cooldownMs: 0 },
  { id: 'move-1pct-30m', type: 'move', pct: 1, windowMs: 30 * 60_000, cooldownMs: 60 * 60_000 },
  { id: 'zscore-5', type: 'zscore', window: 60, threshold: 5, cooldownMs: 10 * 60_000 },
]);

/**
 * What the rules mean, computed straight from the whole series with no incremental state: the
 * reference the evaluator must agree with.
 */
function expectedAlerts(series: PriceRecord[], rule: AlertRule): number[] {
  const fired: number[] = [];
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
      const reference = series.slice(0, i).find((point) => point.ts >= ts - rule.windowMs);
      hit = reference !== undefined && Math.abs((price / reference.price_usd - 1) * 100) >= rule.pct;
    } else if (rule.type === 'zscore' && i - 1 >= rule.window) {
      const returns = series.slice(1, i).map((point, k) => Math.log(point.price_usd / series[k]!.price_usd));
      const window = returns.slice(-rule.window);
      const mean = window.reduce((a, b) => a + b, 0) / window.length;
      const std = Math.sqrt(window.reduce((a, r) => a + (r - mean) ** 2, 0) / (window.length - 1));
      hit = std > 0 && Math.abs((Math.log(price / series[i - 1]!.price_usd) - mean) / std) >= rule.threshold;
    }
    if (hit && cooled(ts)) fired.push(ts);
  }
  return fired;
}

function evaluateAll(evaluator: AlertEvaluator, records: PriceRecord[]): Alert[] {
  return records.flatMap((record) => evaluator.evaluate(record));
}

describe('AlertEvaluator', () => {
  const btc = minuteFileRecords('binanceus_BTCUSDT_1m_20230301_20230321.csv', 'binanceus');

  it('raises on three weeks of real minute prices exactly the alerts a direct computation predicts', () => {
    const alerts = evaluateAll(new AlertEvaluator(rules), btc);
    for (const rule of rules) {
      const expected = expectedAlerts(btc, rule);
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

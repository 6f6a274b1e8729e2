import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from './metrics.ts';

describe('Metrics', () => {
  it('refuses a counter whose name does not end in _total, and a gauge or histogram whose name does', () => {
    const metrics = new Metrics();
    assert.throws(() => metrics.counter('things_seen', 'Things.'), /a counter's name ends in _total/);
    assert.throws(() => metrics.gauge('things_total', 'Things.'), /it is a gauge/);
    assert.throws(() => metrics.histogram('wait_seconds_total', 'Waits.'), /it is a histogram/);
    assert.deepEqual(metrics.list(), []);
  });

  it('gives the same metric to a second caller, and refuses one that means something else by the name', () => {
    const metrics = new Metrics();
    const first = metrics.counter('things_total', 'Things seen.', ['kind']);
    assert.equal(metrics.counter('things_total', 'Things seen.', ['kind']), first);
    assert.throws(() => metrics.counter('things_total', 'Other things.', ['kind']), /made as a counter "Things seen."/);
    assert.throws(() => metrics.counter('things_total', 'Things seen.', ['kind', 'day']), /labelled \{kind\}/);
    assert.deepEqual(metrics.list(), [{ name: 'things_total', type: 'counter', help: 'Things seen.', labels: ['kind'] }]);
  });

  it("exports prom-client's process and Node.js runtime metrics when asked to, and only then", async () => {
    const process = await new Metrics({ processMetrics: true }).text();
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_version_info',
    ]) {
      assert.match(process, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.doesNotMatch(await new Metrics().text(), /process_cpu_seconds_total/);
  });
});

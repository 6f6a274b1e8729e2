import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker } from './circuit-breaker.ts';

describe('circuit breaker', () => {
  it('lets exactly one probe through when half-open, and reopens when it fails', () => {
    let now = 0;
    const states: string[] = [];
    const breaker = new CircuitBreaker(
      'p',
      { failureThreshold: 2, cooldownMs: 1_000 },
      () => now,
      (s) => states.push(s),
    );
    breaker.failure('a');
    assert.equal(breaker.allow().allowed, true);
    breaker.failure('b');
    assert.equal(breaker.allow().allowed, false);
    now = 1_000;
    assert.deepEqual(breaker.allow(), { allowed: true, probe: true });
    assert.equal(breaker.allow().allowed, false, 'a second caller waits for the probe');
    breaker.failure('c');
    assert.equal(breaker.state, 'open');
    now = 2_000;
    assert.deepEqual(breaker.allow(), { allowed: true, probe: true });
    breaker.release();
    assert.deepEqual(breaker.allow(), { allowed: true, probe: true }, 'a released probe frees the slot');
    breaker.success();
    assert.deepEqual(states, ['open', 'half_open', 'open', 'half_open', 'closed']);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serveHealth } from './health-server.ts';
import { Metrics } from './metrics.ts';

describe('serveHealth', () => {
  it('answers 200 when every check is ok and 503 naming the failing one otherwise', async () => {
    let storeOk = true;
    const metrics = new Metrics();
    metrics.counter('test_things_total', 'things').inc(3);
    const server = await serveHealth({
      port: 0,
      host: '127.0.0.1',
      metrics,
      checks: {
        bus: async () => ({ ok: true, detail: 'memory' }),
        store: async () => ({ ok: storeOk, detail: storeOk ? 'ok' : 'minio unreachable' }),
      },
    });
    try {
      const healthy = await fetch(`http://127.0.0.1:${server.port}/health`);
      assert.equal(healthy.status, 200);
      storeOk = false;
      const sick = await fetch(`http://127.0.0.1:${server.port}/health`);
      assert.equal(sick.status, 503);
      const body = (await sick.json()) as { checks: Record<string, { detail: string }> };
      assert.equal(body.checks.store?.detail, 'minio unreachable');
      const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      assert.match(text, /test_things_total 3/);
    } finally {
      await server.close();
    }
  });
});

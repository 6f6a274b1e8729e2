import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import type { Alert } from '../../core/records/alert.ts';
import { waitFor } from '../../core/testing/wait.ts';
import { webhookSignature, WebhookSender } from '../../processor/alerts/webhook.ts';

const alert = (n: number): Alert => ({
  id: `btc-22k:BTC:binanceus:${1_677_628_800_000 + n * 60_000}`,
  ts: 1_677_628_800_000 + n * 60_000,
  rule: 'btc-22k',
  type: 'price_cross',
  symbol: 'BTC',
  source: 'binanceus',
  value: 22_001,
  threshold: 22_000,
  message: 'crossed above 22000 at 22001',
  raised_at: 1_700_000_000_000,
});

async function receiver(failFirst: number) {
  const received: { id: string; body: string; signature: string | undefined }[] = [];
  let calls = 0;
  const server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      calls += 1;
      if (calls <= failFirst) {
        response.writeHead(500).end();
        return;
      }
      received.push({
        id: String(request.headers['x-cryptolake-alert-id']),
        body,
        signature: request.headers['x-cryptolake-signature'] as string | undefined,
      });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, calls: () => calls, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const sender = (url: string, cache: MemoryCache, options: { retries?: number; maxQueued?: number } = {}) =>
  new WebhookSender({
    url,
    secret: 's3cret',
    cache,
    log: silentLogger,
    metrics: new Metrics(),
    retry: { retries: options.retries ?? 3, minDelayMs: 5, maxDelayMs: 20 },
    timeoutMs: 2_000,
    maxQueued: options.maxQueued ?? 100,
  });

describe('alert webhooks', () => {
  it('delivers each alert once with a valid signature, retrying after a 500, and not again after a restart', async () => {
    const hook = await receiver(1);
    const cache = new MemoryCache();
    try {
      const first = sender(hook.url, cache);
      for (const n of [1, 2, 3]) first.enqueue(alert(n));
      await first.idle();
      assert.deepEqual(first.totals, { delivered: 3, skipped: 0, failed: 0, dropped: 0 });
      // A replay after a crash hands the same alerts to a new sender (another process, same cache).
      const again = sender(hook.url, cache);
      for (const n of [1, 2, 3, 4]) again.enqueue(alert(n));
      await again.idle();
      assert.deepEqual(
        hook.received.map((call) => call.id),
        [1, 2, 3, 4].map((n) => alert(n).id),
      );
      assert.equal(hook.calls(), 5, 'one failed call and four deliveries');
      for (const call of hook.received) {
        assert.equal(call.signature, webhookSignature('s3cret', call.body));
        assert.equal((JSON.parse(call.body) as Alert).id, call.id);
      }
      assert.match(hook.received[0]!.signature!, /^sha256=[0-9a-f]{64}$/);
    } finally {
      await hook.close();
    }
  });

  it('drops alerts of a webhook that stays down after the retries, without blocking the caller', async () => {
    const hook = await receiver(Number.MAX_SAFE_INTEGER);
    try {
      const down = sender(hook.url, new MemoryCache(), { retries: 1, maxQueued: 2 });
      const started = performance.now();
      for (const n of [1, 2, 3]) down.enqueue(alert(n));
      assert.ok(performance.now() - started < 50, 'enqueue does not wait for the webhook');
      await waitFor(() => down.pending === 0, 5_000, 'the queue to empty');
      assert.deepEqual(down.totals, { delivered: 0, skipped: 0, failed: 2, dropped: 1 });
      assert.equal(hook.calls(), 4, 'two attempts for each queued alert');
    } finally {
      await hook.close();
    }
  });
});

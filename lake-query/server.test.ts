import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openAdapters } from '../core/adapters/select.ts';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { startLakeQuery } from './server.ts';
import { FixtureLake } from '../tests/support/fixture-lake.ts';

describe('lake-query server', () => {
  it('listens on the real port when PORT=0 and answers over HTTP until closed', async () => {
    const fixture = await FixtureLake.create();
    await fixture.writePrices([{ symbol: 'BTC', ts: Date.parse('2026-03-02T05:00:00Z'), price: 64_000 }]);
    const env = { LAKE_DIR: fixture.root, PROVIDERS: 'synthetic', PORT: '0' };
    const adapters = await openAdapters(env, silentLogger);
    const server = await startLakeQuery(adapters, env, silentLogger, new Metrics());
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(new URL(server.url).port, '0');
      const latest = await (await fetch(`${server.url}/api/latest`)).json();
      assert.deepEqual(
        latest.prices.map((p: { symbol: string; priceUsd: number }) => [p.symbol, p.priceUsd]),
        [['BTC', 64_000]],
      );
      const health = await (await fetch(`${server.url}/api/health`)).json();
      assert.equal(health.synthetic, true);
    } finally {
      await server.close();
      await adapters.close();
      await fixture.remove();
    }
    await assert.rejects(fetch(`${server.url}/api/health`));
  });

  it('refuses a bad setting with CONFIG_INVALID naming the variable', async () => {
    const fixture = await FixtureLake.create();
    const adapters = await openAdapters({ LAKE_DIR: fixture.root }, silentLogger);
    try {
      await assert.rejects(
        startLakeQuery(adapters, { LAKE_DIR: fixture.root, DUCKDB_MEMORY_LIMIT: 'lots' }, silentLogger, new Metrics()),
        /DUCKDB_MEMORY_LIMIT="lots"/,
      );
    } finally {
      await adapters.close();
      await fixture.remove();
    }
  });
});

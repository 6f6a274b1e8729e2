import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAdapters, type Adapters } from '../../core/adapters/select.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { toPriceRecord } from '../../core/records/price.ts';
import { waitFor } from '../../core/testing/wait.ts';
import { startProcessor } from '../../processor/start.ts';
import { startLakeQuery } from '../../lake-query/server.ts';

const DAY = 86_400_000;
const FIRST_DAY = Date.UTC(2026, 0, 1);
const SYMBOLS = ['BTC', 'ETH'];

/** Every series the registry exposes: metric name (with its _bucket/_sum/_count suffix) and labels. */
async function seriesOf(metrics: Metrics): Promise<Set<string>> {
  const series = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    for (const value of metric.values as { metricName?: string; labels: Record<string, string | number> }[]) {
      const labels = Object.entries(value.labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, label]) => `${name}="${label}"`);
      series.add(`${value.metricName ?? metric.name}{${labels.join(',')}}`);
    }
  }
  return series;
}

/** Publishes a few prices on each of `days` days from `firstDay`, and one message that is not JSON. */
async function publishDays(adapters: Adapters, firstDay: number, days: number): Promise<number> {
  const messages: { key: string; value: string }[] = [];
  for (let day = 0; day < days; day++) {
    for (const symbol of SYMBOLS) {
      for (let minute = 0; minute < 3; minute++) {
        const ts = firstDay + day * DAY + minute * 60_000;
        const record = toPriceRecord({ source: 'synthetic', symbol, ts, price_usd: 100 + day + minute }, ts);
        messages.push({ key: symbol, value: JSON.stringify(record) });
      }
    }
  }
  messages.push({ key: 'BTC', value: `not json ${firstDay}` });
  await adapters.bus.publish('prices', messages);
  return messages.length - 1;
}

describe('Metrics of a running processor and lake-query', () => {
  it('keep the same series however many days, files and requested paths the lake and the API see (bounded labels)', async () => {
    const lakeDir = await mkdtemp(join(tmpdir(), 'cryptolake-metric-series-'));
    const env = { LAKE_DIR: lakeDir, FLUSH_INTERVAL_MS: '50', MAINTENANCE_INTERVAL_MS: '200' };
    const metrics = new Metrics();
    const adapters = await openAdapters(env, silentLogger);
    const processor = await startProcessor(adapters, env, silentLogger, metrics);
    const lakeQuery = await startLakeQuery(adapters, { ...env, PORT: '0' }, silentLogger, metrics);
    const ask = async (paths: string[]) => {
      for (const path of paths) await (await fetch(`${lakeQuery.url}${path}`)).arrayBuffer();
    };
    const written = () => processor.status().recordsWritten;
    try {
      let expected = await publishDays(adapters, FIRST_DAY, 1);
      await waitFor(() => written() >= expected && processor.status().deadLettered >= 1, 30_000, 'the first day in the lake');
      await ask(['/api/latest', '/api/candles?symbol=BTC&interval=1m', '/api/partitions', '/app.js', '/no/such/page']);
      const before = await seriesOf(metrics);

      expected += await publishDays(adapters, FIRST_DAY + DAY, 30);
      await waitFor(() => written() >= expected && processor.status().deadLettered >= 2, 60_000, '30 more days in the lake');
      await ask(['/api/latest', '/api/candles?symbol=ETH&interval=1h', '/api/partitions', '/app.css', '/other/page', '/api/nope']);
      const after = await seriesOf(metrics);

      assert.ok(
        [...before].some((series) => series.startsWith('processor_records_written_total{dataset="prices"}')),
        'the processor counts what it wrote',
      );
      assert.deepEqual(
        [...after].filter((series) => !before.has(series)),
        [...after].filter((series) => series.startsWith('lake_query_http_requests_total') && !before.has(series)),
        'only new route patterns may add series',
      );
      const newRoutes = [...after].filter((series) => !before.has(series));
      assert.ok(
        newRoutes.every((series) => /route="(\/api\/[a-z-]+|\/api\/\*|\*)"/.test(series)),
        `request series are labelled by route pattern, never by path: ${newRoutes.join(' ')}`,
      );
      const dated = [...after].filter((series) => /\d{4}-\d{2}-\d{2}|year=|\.parquet|\/no\/such|\/other\/page/.test(series));
      assert.deepEqual(dated, [], 'no label holds a day, a file or a requested path');
    } finally {
      await processor.stop();
      await lakeQuery.close();
      await adapters.close();
    }
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KafkaBus } from '../../core/adapters/kafka/bus.ts';
import { silentLogger } from '../../core/log.ts';
import { uniqueName, waitFor } from '../../core/testing/wait.ts';
import { startDemoVenues } from '../../scraper/streams/demo-venues.ts';
import { startPart, type PartProcess } from '../support/process.ts';
import { isolatedLake, stack } from '../support/stack.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const STACK_SCRIPT = `${root}infra/local/stack.sh`;
const DASHBOARD = `${root}infra/monitoring/grafana/dashboards/cryptolake-pipeline.json`;
const SCRAPE_INTERVAL_S = 1;
/** What Grafana's $__rate_interval is at this scrape interval: four scrapes. */
const RATE_INTERVAL = `${4 * SCRAPE_INTERVAL_S}s`;
/** Panels whose queries must show something happening during the run, not only a series at 0. */
const BUSY_PANELS = ['Ingest rate', 'Published to the bus', 'Rows written', 'Dead letters', 'API requests', 'Resident memory'];

interface Target {
  expr: string;
  refId: string;
  instant?: boolean;
  datasource: { uid: string };
}
interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Target[];
  panels?: Panel[];
}
interface PromSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The value of `field` in the first log line of `part` whose message is `msg`, once it was logged. */
async function logged(part: PartProcess, msg: string, field: string): Promise<string> {
  const line = await waitFor(() => part.logs.find((entry) => entry.msg === msg), 120_000, `'${msg}' in the log\n${part.stderr()}`);
  return String(line[field]);
}

/** The panels of a Grafana dashboard, those inside rows included. */
function panelsOf(dashboard: { panels: Panel[] }): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]).filter((panel) => panel.type !== 'row');
}

describe('the monitoring profile on a real run', () => {
  it(
    "gets series back for every query of the provisioned Grafana dashboard from the stack's Prometheus scraping the parts",
    { timeout: 900_000 },
    async (t) => {
      const services = await stack();
      const token = uniqueName('token');
      const env: Record<string, string> = {
        ...services,
        KAFKA_TOPIC: uniqueName('mon-prices'),
        DEAD_LETTER_TOPIC: uniqueName('mon-dead'),
        ALERTS_TOPIC: uniqueName('mon-alerts'),
        TRADES_TOPIC: uniqueName('mon-trades'),
        GAPS_TOPIC: uniqueName('mon-gaps'),
        KAFKA_GROUP: uniqueName('mon-group'),
        ...isolatedLake('monitoring'),
        PROVIDERS: 'synthetic',
        SYMBOLS: 'BTC,ETH',
        POLL_INTERVAL_MS: '500',
        FLUSH_INTERVAL_MS: '500',
        API_TOKEN: token,
      };
      // The in-process cache: nothing shared with other tests through Redis.
      delete env.REDIS_URL;
      const venues = await startDemoVenues({ symbols: ['BTC', 'ETH'], tradesPerSecond: 10, seed: 15 }, silentLogger);
      const stateDir = await mkdtemp(join(tmpdir(), 'cryptolake-monitoring-'));
      const parts: PartProcess[] = [];
      let stackEnv: NodeJS.ProcessEnv | undefined;
      try {
        await run(process.execPath, ['--import', 'tsx', 'processor/cli/lake.ts', 'init'], { cwd: root, env: { ...process.env, ...env } });
        const processor = startPart('processor/main.ts', { ...env, HEALTH_PORT: '0' });
        const scraper = startPart('scraper/main.ts', { ...env, ...venues.env, STREAM_SYMBOLS: 'BTC,ETH', HEALTH_PORT: '0' });
        const lakeQuery = startPart('lake-query/main.ts', { ...env, PORT: '0' });
        parts.push(processor, scraper, lakeQuery);
        const targets = {
          PROMETHEUS_PROCESSOR_TARGET: `127.0.0.1:${await logged(processor, 'processor is running', 'healthPort')}`,
          PROMETHEUS_SCRAPER_TARGET: `127.0.0.1:${await logged(scraper, 'scraper is running', 'healthPort')}`,
          PROMETHEUS_LAKE_QUERY_TARGET: new URL(await logged(lakeQuery, 'Serving the lake API and dashboard', 'url')).host,
        };
        const apiUrl = await logged(lakeQuery, 'Serving the lake API and dashboard', 'url');

        // The stack script's own Prometheus (Debian's package, the monitoring profile's configuration),
        // in a state folder and on a port of this test's own.
        const promPort = await freePort();
        stackEnv = {
          ...process.env,
          ...targets,
          CRYPTOLAKE_STATE: stateDir,
          PROMETHEUS_PORT: String(promPort),
          PROMETHEUS_SCRAPE_INTERVAL: `${SCRAPE_INTERVAL_S}s`,
          API_TOKEN: token,
        };
        await run('bash', [STACK_SCRIPT, 'start-service', 'prometheus'], { env: stackEnv, timeout: 600_000 });
        await run('promtool', ['check', 'config', `${stateDir}/prometheus/prometheus.yml`]);
        const prometheus = `http://127.0.0.1:${promPort}`;
        const query = async (path: string, params: Record<string, string>) => {
          const response = await fetch(`${prometheus}${path}?${new URLSearchParams(params)}`);
          const body = (await response.json()) as { status: string; error?: string; data: { result: PromSeries[] } };
          assert.equal(body.status, 'success', `${params.query}: ${body.error}`);
          return body.data.result;
        };
        const started = Math.floor(Date.now() / 1000);

        const read = async () => {
          for (const path of ['/api/latest', '/api/candles?symbol=BTC&interval=1m', '/api/partitions', '/api/health']) {
            await (await fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
          }
        };
        const allUp = async () => {
          const up = await query('/api/v1/query', { query: 'up' });
          return up.length === 3 && up.every((series) => series.value?.[1] === '1');
        };
        await waitFor(allUp, 120_000, 'Prometheus to scrape all three parts, lake-query with its token');
        // What happens in a run, once Prometheus has seen the counters at 0: a message that is not
        // JSON (a dead letter), and readers of the API.
        const bus = new KafkaBus({ brokers: services.KAFKA_BROKERS.split(','), log: silentLogger });
        await bus.publish(env.KAFKA_TOPIC!, [{ key: 'BTC', value: 'not json' }]);
        await bus.close();
        await waitFor(
          async () => {
            await read();
            const written = await query('/api/v1/query', { query: 'sum by (dataset) (processor_records_written_total) > 0' });
            const dead = await query('/api/v1/query', { query: 'processor_dead_letters_total > 0' });
            const datasets = new Set(written.map((series) => series.metric.dataset));
            return (await allUp()) && datasets.has('prices') && datasets.has('trades') && dead.length > 0;
          },
          180_000,
          'prices, trades and a dead letter written while Prometheus scrapes',
        );
        // Some rate windows full of samples.
        await waitFor(async () => (await read(), Date.now() / 1000 - started >= 20), 60_000, '20 s of scrapes');

        const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[] };
        const datasource = await readFile(`${root}infra/monitoring/grafana/provisioning/datasources/prometheus.yml`, 'utf8');
        const end = Math.floor(Date.now() / 1000);
        const panels = panelsOf(dashboard);
        assert.ok(panels.length >= 15, `${panels.length} panels`);
        const empty: string[] = [];
        for (const panel of panels) {
          let busiest = 0;
          for (const target of panel.targets ?? []) {
            assert.match(datasource, new RegExp(`uid: ${target.datasource.uid}$`, 'm'), `${panel.title} reads the provisioned data source`);
            const expr = target.expr
              .replaceAll('$__rate_interval', RATE_INTERVAL)
              .replaceAll('$__range', `${end - started}s`)
              .replaceAll('$__interval', `${SCRAPE_INTERVAL_S}s`);
            const result = target.instant
              ? await query('/api/v1/query', { query: expr, time: String(end) })
              : await query('/api/v1/query_range', { query: expr, start: String(started), end: String(end), step: '1' });
            const samples = result
              .flatMap((series) => series.values ?? [series.value!])
              .map(([, value]) => Number(value))
              .filter(Number.isFinite);
            if (samples.length === 0) empty.push(`${panel.title} ${target.refId}: ${target.expr}`);
            busiest = Math.max(busiest, ...samples);
            t.diagnostic(`${panel.title} ${target.refId}: ${result.length} series, max ${Math.max(...samples)}`);
          }
          if (BUSY_PANELS.includes(panel.title)) assert.ok(busiest > 0, `${panel.title} shows the run (max ${busiest})`);
        }
        assert.deepEqual(empty, [], 'dashboard queries that found no series with a value');
      } finally {
        if (stackEnv) await run('bash', [STACK_SCRIPT, 'stop-service', 'prometheus'], { env: stackEnv }).catch(() => undefined);
        for (const part of parts) part.kill('SIGTERM');
        await Promise.all(parts.map((part) => part.exited));
        await venues.close();
        await rm(stateDir, { recursive: true, force: true });
      }
    },
  );
});

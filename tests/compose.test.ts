import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

interface ComposeService {
  image?: string;
  build?: unknown;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  env_file?: { path: string; required?: boolean }[];
  stop_grace_period?: string;
  entrypoint?: string[];
  command?: string[];
  restart?: string;
  profiles?: string[];
}

/** The services that run the project's image. */
const APP_SERVICES = ['scraper', 'processor', 'lake-query'];

async function readCompose(): Promise<{ services: Record<string, ComposeService> }> {
  return parse(await readFile(`${root}docker-compose.yml`, 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
}

/** A compose duration (`60s`, `1m30s`) in seconds. */
function seconds(duration: string): number {
  const parts = [...duration.matchAll(/(\d+)(h|m|s)/g)];
  assert.equal(parts.map((part) => part[0]).join(''), duration, `'${duration}' is a duration`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * { h: 3600, m: 60, s: 1 }[unit as 'h' | 'm' | 's'], 0);
}

/**
 * Runs a `CMD node -e` healthcheck against a local server that answers `status` and `body`
 * (its URL's host and port swapped for the server's) and resolves with the exit code.
 */
async function runHealthcheck(test: string[], status: number, body: unknown): Promise<number> {
  assert.deepEqual(test.slice(0, 3), ['CMD', 'node', '-e'], 'a node -e healthcheck');
  const server = createServer((_request, response) =>
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const script = test[3]!.replace(/http:\/\/127\.0\.0\.1:\d+/, `http://127.0.0.1:${port}`);
    return await run(process.execPath, ['-e', script]).then(
      () => 0,
      (error: { code: number }) => error.code,
    );
  } finally {
    server.close();
  }
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose specification schema and the compose linter', async () => {
    // dclint validates the file against the Compose specification's JSON schema first, then lints.
    const result = await run('npx', ['--no-install', 'dclint', 'docker-compose.yml'], { cwd: root }).catch(
      (error: { stdout: string; stderr: string; code: number }) => error,
    );
    assert.equal('code' in result ? result.code : 0, 0, `dclint failed:\n${result.stdout}\n${result.stderr}`);
  });

  it('has every service the README names, each app service healthy-gated on what it needs', async () => {
    const compose = await readCompose();
    const readme = await readFile(`${root}README.md`, 'utf8');
    const section = readme.slice(readme.indexOf('<!-- compose-services:start -->'), readme.indexOf('<!-- compose-services:end -->'));
    const named = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((match) => match[1]!);
    assert.ok(named.length >= 9, `the README's compose table names ${named.length} services`);
    assert.deepEqual(
      named.filter((name) => !(name in compose.services)),
      [],
      'services named in the README but missing from compose',
    );
    assert.deepEqual(
      Object.keys(compose.services).filter((name) => !named.includes(name)),
      [],
      'services in compose missing from the README',
    );
    for (const name of APP_SERVICES) {
      const service = compose.services[name]!;
      assert.ok(service.healthcheck, `${name} has a healthcheck`);
      assert.equal(service.depends_on?.['redpanda-init']?.condition, 'service_completed_successfully');
      assert.equal(service.depends_on?.['minio-init']?.condition, 'service_completed_successfully');
      assert.equal(service.depends_on?.redis?.condition, 'service_healthy');
      assert.equal(service.depends_on?.postgres?.condition, 'service_healthy', `${name} waits for the catalog database`);
      assert.equal(service.depends_on?.['lake-init']?.condition, 'service_completed_successfully', `${name} waits for the lake's tables`);
    }
  });

  it('runs the DuckLake catalog on PostgreSQL, its tables created once by lake-init before the app starts', async () => {
    const { services } = await readCompose();
    const postgres = services.postgres!;
    assert.match(postgres.image ?? '', /^postgres:1[78]\.\d+/, 'a pinned PostgreSQL 17.x or 18.x image');
    assert.match(postgres.healthcheck?.test.join(' ') ?? '', /pg_isready/);
    assert.ok(postgres.environment?.POSTGRES_PASSWORD, 'a password');
    assert.ok(
      (postgres.volumes ?? []).some((volume) => volume.endsWith(':/var/lib/postgresql')),
      'a volume where the 18+ image keeps its data',
    );
    const init = services['lake-init']!;
    assert.deepEqual([...(init.entrypoint ?? []), ...(init.command ?? [])], ['npm', 'run', 'lake', '--', 'init']);
    assert.equal(init.restart, 'no');
    assert.equal(init.depends_on?.postgres?.condition, 'service_healthy');
    for (const name of [...APP_SERVICES, 'lake-init']) {
      const environment = services[name]!.environment ?? {};
      const catalog = environment.LAKE_CATALOG ?? '';
      assert.match(catalog, /^postgres:dbname=\S+ host=postgres port=5432 user=\S+ password=\S+$/, `${name}'s LAKE_CATALOG`);
      assert.equal(environment.DUCKDB_EXTENSION_DIR, '/app/duckdb-extensions', `${name} finds the extensions baked in the image`);
    }
  });

  it('hands .env to every app service and leaves the processor time for its final flush', async () => {
    const { services } = await readCompose();
    for (const name of [...APP_SERVICES, 'lake-init']) {
      const service = services[name]!;
      assert.deepEqual(service.env_file, [{ path: '.env', required: false }], `${name} reads .env when it exists`);
      assert.ok(seconds(service.stop_grace_period ?? '0s') >= 60, `${name} gets at least 60 s to stop`);
    }
  });

  it('has healthchecks that fail while the service says it is not ready', async () => {
    const { services } = await readCompose();
    const lakeQuery = services['lake-query']!.healthcheck!.test;
    assert.equal(await runHealthcheck(lakeQuery, 200, { ok: true }), 0, 'lake-query healthy when /api/health says ok');
    assert.equal(await runHealthcheck(lakeQuery, 200, { ok: false }), 1, 'lake-query unhealthy while /api/health says ok: false');
    for (const name of ['scraper', 'processor']) {
      const test = services[name]!.healthcheck!.test;
      assert.equal(await runHealthcheck(test, 200, { ok: true }), 0, `${name} healthy when /health answers 200`);
      assert.equal(await runHealthcheck(test, 503, { ok: false }), 1, `${name} unhealthy when /health answers 503`);
    }
  });

  it('offers Prometheus and Grafana under the monitoring profile, provisioned with the pipeline dashboard', async () => {
    const { services } = await readCompose();
    const profiled = Object.entries(services).filter(([, service]) => service.profiles);
    assert.deepEqual(
      profiled.map(([name, service]) => `${name}:${service.profiles!.join(',')}`),
      ['prometheus:monitoring', 'grafana:monitoring'],
      'only the monitoring services are optional',
    );
    for (const name of ['prometheus', 'grafana']) {
      const service = services[name]!;
      assert.match(service.image ?? '', /^[a-z/]+:v?\d+\.\d+\.\d+$/, `${name} runs a pinned image`);
      assert.ok(service.healthcheck, `${name} has a healthcheck`);
      for (const volume of service.volumes ?? []) {
        if (!volume.startsWith('./')) continue;
        await access(`${root}${volume.split(':')[0]!.slice(2)}`).catch(() => assert.fail(`${name} mounts ${volume}, which does not exist`));
      }
    }
    // Prometheus scrapes each app service where it serves /metrics.
    const prometheus = parse(await readFile(`${root}infra/monitoring/prometheus/prometheus.yml`, 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[]; authorization?: { credentials_file: string } }[];
    };
    const scraped = Object.fromEntries(prometheus.scrape_configs.map((job) => [job.job_name, job.static_configs[0]!.targets]));
    assert.deepEqual(scraped, {
      scraper: [`scraper:${services.scraper!.environment!.HEALTH_PORT}`],
      processor: [`processor:${services.processor!.environment!.HEALTH_PORT}`],
      'lake-query': [`lake-query:${services['lake-query']!.environment!.PORT}`],
    });
    const tokenFile = prometheus.scrape_configs.find((job) => job.job_name === 'lake-query')!.authorization?.credentials_file;
    assert.ok(
      tokenFile && services.prometheus!.command!.join(' ').includes(`> ${tokenFile}`),
      'the entrypoint writes the token file lake-query needs',
    );
    // Grafana's data source and dashboard folder are the ones the provisioning files name.
    const grafana = services.grafana!.environment!;
    assert.equal(grafana.PROMETHEUS_URL, 'http://prometheus:9090');
    assert.ok((services.grafana!.volumes ?? []).some((volume) => volume.endsWith(`:${grafana.GRAFANA_DASHBOARDS_DIR}:ro`)));
    const dashboard = JSON.parse(await readFile(`${root}infra/monitoring/grafana/dashboards/cryptolake-pipeline.json`, 'utf8')) as {
      panels: { type: string; title: string; datasource?: { uid: string } }[];
    };
    const datasource = await readFile(`${root}infra/monitoring/grafana/provisioning/datasources/prometheus.yml`, 'utf8');
    for (const panel of dashboard.panels.filter((panel) => panel.type !== 'row')) {
      assert.match(datasource, new RegExp(`uid: ${panel.datasource?.uid}$`, 'm'), `${panel.title} reads the provisioned data source`);
    }
    for (const topic of [
      'Ingest rate',
      'Consumer lag',
      'Flush and commit latency',
      'Rows written',
      'Provider failures',
      'Stream gaps',
      'Dead letters',
    ]) {
      assert.ok(
        dashboard.panels.some((panel) => panel.title === topic),
        `the dashboard shows ${topic}`,
      );
    }
  });

  it('publishes ports on localhost only and bakes no secret into the image', async () => {
    const compose = await readCompose();
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of service.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port} beyond localhost`);
    }
    const dockerfile = await readFile(`${root}Dockerfile`, 'utf8');
    assert.doesNotMatch(dockerfile, /^(ENV|ARG)\b.*(SECRET|PASSWORD|API_KEY|ACCESS_KEY)/im, 'no credential in ENV or ARG');
    assert.match(dockerfile, /^USER node$/m, 'the runtime runs as the unprivileged node user');
    assert.match(dockerfile, /^FROM .* AS build$/m, 'multi-stage build');
    assert.match(dockerfile, /^FROM node:24[.\d]*-bookworm-slim$/m, 'the runtime on Node 24');
    for (const name of ['httpfs', 'ducklake', 'postgres-scanner', 'sqlite-scanner']) {
      assert.match(dockerfile, new RegExp(`"duckdb-extension-${name}==\\$\\{DUCKDB_VERSION\\}"`), `the image carries ${name}`);
    }
    const dockerignore = await readFile(`${root}.dockerignore`, 'utf8');
    for (const pattern of ['tests', '**/*.test.ts', '**/testing']) {
      assert.ok(dockerignore.split('\n').includes(pattern), `.dockerignore leaves ${pattern} out of the image`);
    }
  });
});

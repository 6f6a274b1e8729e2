import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

interface ComposeService {
  image?: string;
  build?: unknown;
  ports?: string[];
  healthcheck?: unknown;
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
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
    const compose = parse(await readFile(`${root}docker-compose.yml`, 'utf8'), { merge: true }) as {
      services: Record<string, ComposeService>;
    };
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
    for (const name of ['scraper', 'processor', 'lake-query']) {
      const service = compose.services[name]!;
      assert.ok(service.healthcheck, `${name} has a healthcheck`);
      assert.equal(service.depends_on?.['redpanda-init']?.condition, 'service_completed_successfully');
      assert.equal(service.depends_on?.['minio-init']?.condition, 'service_completed_successfully');
      assert.equal(service.depends_on?.redis?.condition, 'service_healthy');
    }
  });

  it('publishes ports on localhost only and bakes no secret into the image', async () => {
    const compose = parse(await readFile(`${root}docker-compose.yml`, 'utf8'), { merge: true }) as {
      services: Record<string, ComposeService>;
    };
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of service.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port} beyond localhost`);
    }
    const dockerfile = await readFile(`${root}Dockerfile`, 'utf8');
    assert.doesNotMatch(dockerfile, /^(ENV|ARG)\b.*(SECRET|PASSWORD|API_KEY|ACCESS_KEY)/im, 'no credential in ENV or ARG');
    assert.match(dockerfile, /^USER node$/m, 'the runtime runs as the unprivileged node user');
    assert.match(dockerfile, /^FROM .* AS build$/m, 'multi-stage build');
  });
});

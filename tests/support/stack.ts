import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const STACK_SCRIPT = fileURLToPath(new URL('../../infra/local/stack.sh', import.meta.url));

/** The variables `npm run stack -- up` prints: how to reach Kafka, MinIO, Redis, PostgreSQL and the DuckDB CLI. */
export interface StackEnv {
  KAFKA_BROKERS: string;
  S3_ENDPOINT: string;
  S3_BUCKET: string;
  S3_REGION: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  REDIS_URL: string;
  /** DuckLake's catalog connection string without the `ducklake:` prefix: `postgres:dbname=... host=... port=... user=...`. */
  LAKE_CATALOG: string;
  POSTGRES_PORT: string;
  DUCKDB_CLI: string;
  DUCKDB_EXTENSION_DIR: string;
  KAFKA_CLASSPATH: string;
  [name: string]: string;
}

let started: Promise<StackEnv> | undefined;

/**
 * The variables in the output of `stack.sh up`: lines `export NAME=value` (or `NAME=value`), the
 * value bare or in single quotes with `'\''` for a quote, as the script prints them for `eval`.
 */
export function parseStackEnv(stdout: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^(?:export )?([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    const value = match[2]!;
    env[match[1]!] = /^'.*'$/.test(value) ? value.slice(1, -1).replaceAll("'\\''", "'") : value;
  }
  return env;
}

/**
 * The local service stack for integration tests: started (idempotently) by the project's own
 * script, which leaves services that already run alone. Never skipped: when a service cannot
 * start, the test fails with the script's reason.
 */
export function stack(): Promise<StackEnv> {
  started ??= (async () => {
    try {
      const { stdout } = await run('bash', [STACK_SCRIPT, 'up'], { maxBuffer: 16 * 1024 * 1024, timeout: 45 * 60_000 });
      const env = parseStackEnv(stdout);
      for (const name of ['KAFKA_BROKERS', 'S3_ENDPOINT', 'S3_BUCKET', 'REDIS_URL', 'LAKE_CATALOG']) {
        if (!env[name]) throw new Error(`stack.sh up printed no ${name}`);
      }
      // The AWS SDK reads credentials from the process environment.
      process.env.AWS_ACCESS_KEY_ID = env.AWS_ACCESS_KEY_ID;
      process.env.AWS_SECRET_ACCESS_KEY = env.AWS_SECRET_ACCESS_KEY;
      return env as StackEnv;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`the local service stack did not start: ${(error as Error).message}\n${stderr.slice(-4000)}`, { cause: error });
    }
  })();
  return started;
}

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const STACK_SCRIPT = fileURLToPath(new URL('../../infra/local/stack.sh', import.meta.url));

/** The variables `npm run stack -- up` prints: how to reach Kafka, MinIO, Redis and the DuckDB CLI. */
export interface StackEnv {
  KAFKA_BROKERS: string;
  S3_ENDPOINT: string;
  S3_BUCKET: string;
  S3_REGION: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  REDIS_URL: string;
  DUCKDB_CLI: string;
  DUCKDB_EXTENSION_DIR: string;
  KAFKA_CLASSPATH: string;
  [name: string]: string;
}

let started: Promise<StackEnv> | undefined;

/**
 * The local service stack for integration tests: started (idempotently) by the project's own
 * script, which leaves services that already run alone. Never skipped: when a service cannot
 * start, the test fails with the script's reason.
 */
export function stack(): Promise<StackEnv> {
  started ??= (async () => {
    try {
      const { stdout } = await run('bash', [STACK_SCRIPT, 'up'], { maxBuffer: 16 * 1024 * 1024, timeout: 45 * 60_000 });
      const env: Record<string, string> = {};
      for (const line of stdout.split('\n')) {
        const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
        if (match) env[match[1]!] = match[2]!;
      }
      for (const name of ['KAFKA_BROKERS', 'S3_ENDPOINT', 'S3_BUCKET', 'REDIS_URL']) {
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

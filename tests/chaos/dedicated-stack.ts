import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { parseStackEnv, type StackEnv } from '../support/stack.ts';

const run = promisify(execFile);
const STACK_SCRIPT = fileURLToPath(new URL('../../infra/local/stack.sh', import.meta.url));

type Service = 'kafka' | 'minio' | 'redis' | 'postgres';

/** A stack instance of its own (own ports and state folder), for tests that stop or kill services. */
export interface DedicatedStack {
  env: StackEnv;
  stopService(name: Service): Promise<void>;
  startService(name: Service): Promise<void>;
  restartService(name: Service): Promise<void>;
  /** Stops every service and deletes the state folder. */
  down(): Promise<void>;
}

/**
 * Starts a separate instance of the local stack (`stack.sh up` with its own CRYPTOLAKE_STATE and
 * ports from `base`: MinIO base and base+1, PostgreSQL base+32, Kafka base+92 and base+93, Redis
 * base+79), sharing the download cache, so the shared default stack other tests use is never
 * restarted.
 */
export async function dedicatedStack(base = 30_000 + Math.floor(Math.random() * 40) * 200): Promise<DedicatedStack> {
  const state = await mkdtemp(join(tmpdir(), 'cryptolake-stack-'));
  const scriptEnv = {
    ...process.env,
    CRYPTOLAKE_STATE: state,
    KAFKA_PORT: String(base + 92),
    KAFKA_CONTROLLER_PORT: String(base + 93),
    MINIO_PORT: String(base),
    MINIO_CONSOLE_PORT: String(base + 1),
    REDIS_PORT: String(base + 79),
    POSTGRES_PORT: String(base + 32),
  };
  const stack = (...args: string[]) =>
    run('bash', [STACK_SCRIPT, ...args], { env: scriptEnv, maxBuffer: 16 * 1024 * 1024, timeout: 10 * 60_000 });
  let stdout: string;
  try {
    stdout = (await stack('up')).stdout;
  } catch (error) {
    await stack('down', '--purge').catch(() => undefined);
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`the dedicated stack did not start: ${(error as Error).message}\n${stderr.slice(-4000)}`, { cause: error });
  }
  const env = parseStackEnv(stdout);
  // The AWS SDK reads credentials from the process environment.
  process.env.AWS_ACCESS_KEY_ID = env.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = env.AWS_SECRET_ACCESS_KEY;
  return {
    env: env as StackEnv,
    stopService: async (name) => void (await stack('stop-service', name)),
    startService: async (name) => void (await stack('start-service', name)),
    restartService: async (name) => void (await stack('restart-service', name)),
    down: async () => void (await stack('down', '--purge')),
  };
}

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A part of cryptolake running as a real process, with its JSON log lines collected. */
export interface PartProcess {
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
}

/** Starts an entry point (`main.ts`, `processor/main.ts`, ...) as `npm start` or `npm run <part>` would. */
export function startPart(entry: string, env: Record<string, string>, args: readonly string[] = []): PartProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not a log line (a Node warning): ignore.
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { logs, exited, stderr: () => stderr, kill: (signal) => child.kill(signal) };
}

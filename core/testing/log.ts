import { pino } from 'pino';
import type { Logger } from '../log.ts';

/** A logger whose lines the test can read, each parsed; for tests only. */
export function recordingLogger(level = 'info'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

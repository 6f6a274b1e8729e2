import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The root structured logger. Components take a child (`log.child({ component: 'batcher' })`)
 * and write fields first, then a short capitalised sentence. `LOG_LEVEL` sets the level
 * (default `info`); `silent` turns logging off, which the tests use.
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that writes nothing: for tests and benchmarks. */
export const silentLogger: Logger = pino({ level: 'silent' });

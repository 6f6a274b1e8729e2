import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The root structured logger. Components take a child (`log.child({ component: 'batcher' })`)
 * and write fields first, then a short capitalised sentence. `LOG_LEVEL` sets the level
 * (default `info`); `silent` turns logging off, which the tests use. Commands whose answer is on
 * stdout (`npm run lake -- compact` prints a JSON report) log to stderr.
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', to: 'stdout' | 'stderr' = 'stdout'): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(to === 'stdout' ? 1 : 2));
}

/** A logger that writes nothing: for tests and benchmarks. */
export const silentLogger: Logger = pino({ level: 'silent' });

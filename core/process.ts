import { LakeError, messageOf } from './errors.ts';
import type { Logger } from './log.ts';

/**
 * Runs a part's entry point: a configuration error prints its one-line message and exits 1
 * (no stack trace: the message names the variable); any other start failure is logged and exits 1.
 */
export async function runMain(log: Logger, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (error) {
    if (error instanceof LakeError && error.code === 'CONFIG_INVALID') {
      process.stderr.write(`${error.message}\n`);
    } else {
      log.fatal({ err: error }, `Could not start: ${messageOf(error)}`);
    }
    process.exit(1);
  }
}

/**
 * Calls `stop` once on SIGINT or SIGTERM, then exits 0 (1 if stopping failed). A second signal
 * while stopping exits at once with 130, for the user who really wants out.
 */
export function onShutdown(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'Second signal while stopping: exiting without waiting for the flush');
      process.exit(130);
    }
    stopping = true;
    log.info({ signal }, 'Stopping: flushing buffered records and committing');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, `Stopping failed: ${messageOf(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}

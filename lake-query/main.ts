import { openAdapters } from '../core/adapters/select.ts';
import { LakeError, messageOf } from '../core/errors.ts';
import { createLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { loadLakeQueryConfig } from './config.ts';
import { startLakeQuery } from './server.ts';

// `npm run lake-query`: the HTTP API and dashboard over the lake, as a process of its own.
const log = createLogger();
try {
  loadLakeQueryConfig(process.env);
  const adapters = await openAdapters(process.env, log);
  const metrics = new Metrics();
  const server = await startLakeQuery(adapters, process.env, log, metrics).catch(async (error: unknown) => {
    await adapters.close();
    throw error;
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'Stopping lake-query');
    await server.close();
    await adapters.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (error) {
  if (error instanceof LakeError && error.code === 'CONFIG_INVALID') {
    process.stderr.write(`${error.message}\n`);
  } else {
    log.error({ err: error }, `lake-query could not start: ${messageOf(error)}`);
  }
  process.exit(1);
}

// `npm run lake-query`: the HTTP API and dashboard over the lake, as a process of its own.
import { runPart } from '../core/part-main.ts';
import { loadLakeQueryConfig } from './config.ts';
import { startLakeQuery } from './server.ts';

await runPart('lake-query', loadLakeQueryConfig, async (adapters, env, log, metrics) => {
  const server = await startLakeQuery(adapters, env, log, metrics);
  return { stop: () => server.close(), status: () => ({ url: server.url }) };
});

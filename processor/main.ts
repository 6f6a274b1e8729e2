// `npm run processor`: the processor as a process of its own, on the adapters the environment chooses.
import { runPart } from '../core/part-main.ts';
import { loadProcessorConfig } from './config.ts';
import { startProcessor } from './start.ts';

await runPart('processor', loadProcessorConfig, startProcessor);

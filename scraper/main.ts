// `npm run scraper`: the scraper as a process of its own, on the adapters the environment chooses.
import { runPart } from '../core/part-main.ts';
import { loadScraperConfig } from './config.ts';
import { startScraper } from './start.ts';

await runPart('scraper', loadScraperConfig, startScraper);

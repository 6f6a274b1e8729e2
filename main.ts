/**
 * `npm start`: the whole pipeline in one process — scraper -> bus -> processor -> Parquet lake ->
 * DuckDB -> dashboard — on the adapters the environment chooses (embedded by default: an
 * in-memory bus and cache and a local folder as the lake). The parts share one set of adapters,
 * which is what connects them when the bus is in memory.
 *
 * Ctrl-C stops the scraper, lets the processor consume and write everything already published,
 * commits, and only then exits: no record published before the stop is missing from the lake.
 */
import { createLogger } from './core/log.ts';
import { Metrics } from './core/metrics.ts';
import { openAdapters } from './core/adapters/select.ts';
import { onShutdown, runMain } from './core/process.ts';
import { loadScraperConfig } from './scraper/config.ts';
import { loadProcessorConfig } from './processor/config.ts';
import { loadLakeQueryConfig } from './lake-query/config.ts';
import { startScraper } from './scraper/start.ts';
import { loadStreamsConfig } from './scraper/streams/config.ts';
import { startDemoVenues, type DemoVenues } from './scraper/streams/demo-venues.ts';
import { LakeError } from './core/errors.ts';
import { startProcessor } from './processor/start.ts';
import { startLakeQuery } from './lake-query/server.ts';

const log = createLogger();
const env = process.env;
/** How often `npm start` runs the lake maintenance when MAINTENANCE_INTERVAL_MS is unset, ms. */
const NPM_START_MAINTENANCE_MS = 60_000;

await runMain(log, async () => {
  // Validate every part's settings before anything starts, so a typo stops the start cleanly.
  const scraperConfig = loadScraperConfig(env);
  const streamsConfig = loadStreamsConfig(env);
  loadProcessorConfig(env);
  loadLakeQueryConfig(env);

  const metrics = new Metrics({ processMetrics: true });
  const adapters = await openAdapters(env, log);
  // One process owns the lake here: it keeps it tidy too, unless told otherwise.
  const processor = await startProcessor(
    adapters,
    { MAINTENANCE_INTERVAL_MS: String(NPM_START_MAINTENANCE_MS), ...env },
    log.child({ part: 'processor' }),
    metrics,
  );
  const lakeQuery = await startLakeQuery(adapters, env, log.child({ part: 'lake-query' }), metrics);
  // `npm run demo`: made-up venues on loopback, so the trade streams work without the internet.
  let demo: DemoVenues | undefined;
  if (streamsConfig.streamDemoVenues) {
    if (scraperConfig.providers.join(',') !== 'synthetic')
      throw new LakeError(
        'CONFIG_INVALID',
        'Invalid configuration: STREAM_DEMO_VENUES=true needs PROVIDERS=synthetic: made-up trades must not mix with live data in one lake',
      );
    demo = await startDemoVenues(
      { symbols: streamsConfig.streamSymbols, tradesPerSecond: streamsConfig.streamDemoTradesPerSecond, seed: scraperConfig.syntheticSeed },
      log.child({ part: 'demo' }),
    );
  }
  // The demo's venues and its synthetic provider quote one made-up market, so prices and trades agree.
  const scraper = await startScraper(adapters, { ...env, ...demo?.env }, log.child({ part: 'scraper' }), metrics, { world: demo?.world });
  log.info(
    { url: lakeQuery.url, adapters: adapters.description, synthetic: adapters.lake.synthetic },
    `cryptolake is running: open ${lakeQuery.url}`,
  );

  onShutdown(log, async () => {
    await scraper.stop();
    await demo?.close();
    await processor.drain();
    await processor.stop();
    await lakeQuery.close();
    await adapters.close();
    const { published, deadLettered } = scraper.status();
    const { recordsWritten, commits } = processor.status();
    log.info({ published, deadLettered, recordsWritten, commits }, 'Stopped: everything published is in the lake');
  });
});

/**
 * `npm run backfill -- [--source NAME] [--symbol SYM] <file>...`: imports history files (NDJSON,
 * CSV with named columns, or the candle layouts the replay provider reads) into the lake through
 * the bus and the processor, with event-day partitions. Run twice on the same file, it imports it
 * once (see `scraper/backfill.ts`).
 *
 * On the in-memory bus (no KAFKA_BROKERS) it runs a processor in this process and waits until
 * everything is written; on Kafka it publishes, and the running processors write the lake.
 */
import { parseArgs } from 'node:util';
import { basename } from 'node:path';
import { createLogger } from './core/log.ts';
import { Metrics } from './core/metrics.ts';
import { openAdapters } from './core/adapters/select.ts';
import { LakeError } from './core/errors.ts';
import { runMain } from './core/process.ts';
import { loadProcessorConfig } from './processor/config.ts';
import { startProcessor } from './processor/start.ts';
import { backfillFile, type BackfillProgress, type BackfillSummary } from './scraper/backfill.ts';

const log = createLogger(process.env.LOG_LEVEL ?? 'warn');

await runMain(log, async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { source: { type: 'string' }, symbol: { type: 'string' } },
  });
  if (positionals.length === 0) {
    throw new LakeError('CONFIG_INVALID', 'usage: npm run backfill -- [--source NAME] [--symbol SYM] <file>...');
  }
  const env = process.env;
  const config = loadProcessorConfig(env);
  const adapters = await openAdapters(env, log);
  const inProcess = !env.KAFKA_BROKERS;
  const processor = inProcess ? await startProcessor(adapters, env, log, new Metrics()) : undefined;
  const summaries: BackfillSummary[] = [];
  const started = Date.now();
  try {
    for (const file of positionals) {
      summaries.push(
        await backfillFile(file, {
          bus: adapters.bus,
          store: adapters.store,
          pricesTopic: config.kafkaTopic,
          deadLetterTopic: config.deadLetterTopic,
          source: values.source ?? sourceFromFileName(file),
          symbol: values.symbol,
          log,
          onProgress: progressBar(),
        }),
      );
      process.stderr.write('\n');
    }
    if (processor) {
      process.stderr.write('Writing the lake...\n');
      await processor.drain(10 * 60_000);
      await processor.stop();
    }
  } finally {
    await adapters.close();
  }
  printSummary(
    summaries,
    Date.now() - started,
    inProcess ? adapters.description : `${adapters.description} (the running processors write the lake)`,
  );
});

/**
 * The default `source` of a file's records: the first two words of its name, e.g.
 * `kraken_BTCUSDC_1m_ohlcvt_2023Q1.csv` -> `kraken-btcusdc`. Records are identified by source,
 * symbol and time, so two feeds of the same symbol (two venues, or USD and USDT markets) must not
 * share a source; `--source` names the feed explicitly.
 */
export function sourceFromFileName(file: string): string {
  const words = basename(file)
    .replace(/\.[a-z0-9]+$/i, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words.slice(0, 2).join('-').slice(0, 40) || 'backfill';
}

/** A progress line on stderr, redrawn in place on a terminal. */
function progressBar(): (progress: BackfillProgress) => void {
  let last = 0;
  return ({ file, rowsDone }) => {
    const now = Date.now();
    if (process.stderr.isTTY || now - last > 2_000) {
      last = now;
      process.stderr.write(
        `${process.stderr.isTTY ? '\r' : ''}${basename(file)}: ${rowsDone.toLocaleString('en-US')} rows published${process.stderr.isTTY ? '' : '\n'}`,
      );
    }
  };
}

function printSummary(summaries: BackfillSummary[], ms: number, where: string): void {
  const day = (ts: number | null) => (ts === null ? '' : new Date(ts).toISOString().slice(0, 10));
  const rows = summaries.map((summary) => ({
    file: basename(summary.file),
    status: summary.skipped ? 'already imported' : 'imported',
    records: summary.published,
    'dead letters': summary.deadLettered,
    'repeated ids': summary.duplicates,
    from: day(summary.firstTs),
    to: day(summary.lastTs),
  }));
  console.table(rows);
  const published = summaries.filter((summary) => !summary.skipped).reduce((sum, summary) => sum + summary.published, 0);
  const rate = ms > 0 ? Math.round((published / ms) * 1000) : 0;
  console.log(
    `${published.toLocaleString('en-US')} records in ${(ms / 1000).toFixed(1)} s (${rate.toLocaleString('en-US')} records/s) into ${where}`,
  );
}

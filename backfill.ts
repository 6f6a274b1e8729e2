/**
 * `npm run backfill -- [--source NAME] [--symbol SYM] <file>...`: imports history files (NDJSON,
 * CSV with named columns, or the candle layouts the replay provider reads) into the lake through
 * the bus and the processor, with event-day partitions. Run twice on the same file, it imports it
 * once (see `scraper/backfill.ts`).
 *
 * On the in-memory bus (no KAFKA_BROKERS) it runs a processor in this process and waits until
 * everything is written; on Kafka it publishes, and the running processors write the lake.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { basename } from 'node:path';
import { readCommand, type CommandSpec } from './core/cli.ts';
import { createLogger } from './core/log.ts';
import { Metrics } from './core/metrics.ts';
import { openAdapters } from './core/adapters/select.ts';
import { runMain } from './core/process.ts';
import { loadProcessorConfig } from './processor/config.ts';
import { startProcessor } from './processor/start.ts';
import { backfillFile, type BackfillProgress, type BackfillSummary } from './scraper/backfill.ts';

/** The command line of `npm run backfill`: its `--help` is generated from it. */
const BACKFILL = {
  name: 'backfill',
  usage: 'npm run backfill -- [--source NAME] [--symbol SYM] <file>...',
  description:
    'Imports history files (NDJSON, CSV with named columns, or the candle layouts of Binance, Kraken,\n' +
    'CryptoDataDownload and others) into the lake through the bus and the processor, one file per\n' +
    'event day. A file imported before is skipped; an interrupted import resumes.',
  flags: {
    source: {
      type: 'string',
      value: 'NAME',
      pattern: { regex: /^[a-z0-9-]{1,40}$/, expected: 'a lower-case name of letters, digits and dashes' },
      description: "the records' source (default: the first two words of the file name, e.g. kraken-btcusdc)",
    },
    symbol: {
      type: 'string',
      value: 'SYM',
      pattern: { regex: /^[A-Za-z0-9]{1,20}$/, expected: 'a ticker such as BTC' },
      description: "the symbol of rows that name none (default: the file name's, BTCUSDT_1m.csv -> BTC)",
    },
  },
  operands: [{ name: 'file', description: 'a history file to import', many: true, check: unreadable }],
  notes:
    'On the in-memory bus (no KAFKA_BROKERS) a processor runs in this process and the command returns\n' +
    'when the lake is written; with KAFKA_BROKERS it publishes and the running processors write.\n' +
    'The lake is LAKE_DIR, or S3_BUCKET and friends, as for every part.',
} satisfies CommandSpec;

const { flags, operands: files } = readCommand(BACKFILL);
const log = createLogger(process.env.LOG_LEVEL ?? 'warn');

await runMain(log, async () => {
  const env = process.env;
  const config = loadProcessorConfig(env);
  const adapters = await openAdapters(env, log);
  const inProcess = !env.KAFKA_BROKERS;
  const processor = inProcess ? await startProcessor(adapters, env, log, new Metrics()) : undefined;
  const summaries: BackfillSummary[] = [];
  const started = Date.now();
  try {
    for (const file of files) {
      summaries.push(
        await backfillFile(file, {
          bus: adapters.bus,
          store: adapters.store,
          pricesTopic: config.kafkaTopic,
          deadLetterTopic: config.deadLetterTopic,
          source: flags.source ?? sourceFromFileName(file),
          symbol: flags.symbol?.toUpperCase(),
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

/** Why `file` cannot be imported (missing, a folder, not readable), or `undefined` when it can be read. */
function unreadable(file: string): string | undefined {
  try {
    if (!statSync(file).isFile()) return 'not a file';
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable' : (error as Error).message;
  }
}

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

/**
 * `tsx bench/rollups-candles.ts [--rows 10000000] [--days 365] [--runs 5] [--quick]` (--quick =
 * 1 000 000 rows over 36 days, 3 runs: the same rows per minute as the full size): builds a DuckLake lake of `rows` prices over `days` days
 * and 8 symbols with their `candles_1m` partials, committed together as the processor commits them
 * (bench/price-lake.ts, SQLite catalog in a temp folder), then times the 1-day candles of one
 * symbol over the whole range from the raw prices and from the rollups, through
 * `createLakeQueries`. Checks both answers are equal. Prints medians in ms and writes
 * bench/results/rollups-candles.json (`rollups-candles-quick.json` with `--quick`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { resolveExtensionDir } from '../core/lake-location.ts';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { Lake } from '../lake-query/lake.ts';
import { createLakeQueries, type CandlesFrom } from '../lake-query/queries.ts';
import { buildPriceLake } from './price-lake.ts';
import { localLake, median, round, writeResult } from './support.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string' },
    days: { type: 'string' },
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const ROWS = Number(values.rows ?? (values.quick ? 1_000_000 : 10_000_000));
// Rollups pay off with several rows per minute and group: the quick size keeps the full size's density.
const DAYS = Number(values.days ?? (values.quick ? 36 : 365));
const RUNS = Number(values.runs ?? (values.quick ? 3 : 5));
const END = Date.UTC(2026, 2, 1);
const START = END - DAYS * 86_400_000;
const SOURCES: Record<CandlesFrom, string> = { raw: 'raw prices', rollups: 'candle rollups (1d, 1h, 1m at the ends)' };

const root = await mkdtemp(join(tmpdir(), 'cryptolake-rollups-bench-'));
try {
  const location = localLake(root, resolveExtensionDir({ duckdbExtensionDir: process.env.DUCKDB_EXTENSION_DIR }));
  const built = await buildPriceLake(location, { rows: ROWS, days: DAYS, end: END });
  console.log(`Built ${built.rows} rows over ${DAYS} days and their rollups in ${built.seconds} s`);
  const lake = await Lake.open(
    location,
    { queryTimeoutMs: 120_000, memoryLimit: '2GB', threads: 4, connections: 1 },
    silentLogger,
    new Metrics(),
  );
  const query = { symbol: 'BTC', interval: '1d' as const, from: START, to: END };
  const answers: unknown[] = [];
  const results: Record<string, { medianMs: number; minMs: number; maxMs: number }> = {};
  try {
    for (const [source, label] of Object.entries(SOURCES) as [CandlesFrom, string][]) {
      const queries = createLakeQueries(lake, { candlesFrom: source });
      const times: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const started = performance.now();
        const candles = await queries.candles(query);
        times.push(performance.now() - started);
        if (run === 0) answers.push(candles);
      }
      results[source] = { medianMs: round(median(times), 1), minMs: round(Math.min(...times), 1), maxMs: round(Math.max(...times), 1) };
      const { medianMs, minMs, maxMs } = results[source];
      console.log(`1d candles over ${DAYS} days from the ${label}: median ${medianMs} ms (min ${minMs}, max ${maxMs})`);
    }
  } finally {
    await lake.close();
  }
  const same = isDeepStrictEqual(answers[0], answers[1]);
  console.log(`Same candles from both paths: ${same}`);
  await writeResult(values.quick ? 'rollups-candles-quick' : 'rollups-candles', {
    rows: built.rows,
    days: DAYS,
    runs: RUNS,
    buildSeconds: built.seconds,
    results,
    speedup: round(results.raw!.medianMs / results.rollups!.medianMs, 1),
    sameCandles: same,
    node: process.version,
    at: new Date().toISOString(),
  });
  if (!same) process.exitCode = 1;
} finally {
  await rm(root, { recursive: true, force: true });
}

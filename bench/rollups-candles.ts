/**
 * `tsx bench/rollups-candles.ts [--rows 10000000] [--days 365] [--runs 5]`: builds a lake of `rows`
 * prices over `days` days and 8 symbols (as bench/query-latency.ts does), with its `candles_1m`
 * rollups (one compacted file per day, as compaction leaves them), then times the 1-day candles of
 * one symbol over the whole range from the raw data and from the rollups (coverage check
 * included), through `createLakeQueries`. Checks both answers are equal. Prints medians in ms.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { isDeepStrictEqual } from 'node:util';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { Lake } from '../lake-query/lake.ts';
import { createLakeQueries, type CandleSource } from '../lake-query/queries.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    days: { type: 'string', default: '365' },
    runs: { type: 'string', default: '5' },
  },
});
const [ROWS, DAYS, RUNS] = [Number(values.rows), Number(values.days), Number(values.runs)];
const SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP', 'ADA', 'DOGE', 'DOT', 'LTC'];
const END = Date.UTC(2026, 2, 1);
const START = END - DAYS * 86_400_000;

async function buildLake(root: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '4', memory_limit: '4GB' });
  const db = await instance.connect();
  const stepMs = Math.floor((DAYS * 86_400_000 * SYMBOLS.length) / ROWS);
  await db.run(`
    CREATE TABLE p AS
      SELECT 'synthetic:' || s.symbol || ':' || epoch_ms(t.ts) AS id, t.ts, s.symbol, 'synthetic' AS source,
             s.base * (1 + 0.2 * sin(r.range / 50000.0) + 0.01 * sin(r.range / 7.0)) AS price_usd,
             1e9::DOUBLE + r.range AS volume_24h_usd, NULL::DOUBLE AS market_cap_usd, 0.5::DOUBLE AS change_24h_pct,
             t.ts AS ingested_at, year(t.ts) AS year, month(t.ts) AS month, day(t.ts) AS day
        FROM range(${Math.ceil(ROWS / SYMBOLS.length)}) r,
             (VALUES ${SYMBOLS.map((s, i) => `('${s}', ${10 ** (4 - i / 2)})`).join(', ')}) s(symbol, base),
             LATERAL (SELECT make_timestamp((${START} + r.range * ${stepMs})::BIGINT * 1000) AS ts) t`);
  await db.run(
    `COPY p TO '${root}/prices' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (year, month, day), FILENAME_PATTERN 'part-bench-{i}')`,
  );
  await db.run(`
    COPY (SELECT time_bucket(INTERVAL 1 minute, ts) AS minute, symbol, source, arg_min(price_usd, ts) AS open, min(ts) AS open_ts,
                 max(price_usd) AS high, min(price_usd) AS low, arg_max(price_usd, ts) AS close, max(ts) AS close_ts,
                 count(*)::DOUBLE AS ticks, count(*)::DOUBLE AS raw_rows, arg_max(volume_24h_usd, ts) AS volume_24h_usd,
                 max(ts) AS volume_ts, year, month, day
            FROM p GROUP BY ALL ORDER BY symbol, source, minute)
      TO '${root}/candles_1m' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (year, month, day), FILENAME_PATTERN 'part-bench-{i}')`);
  db.closeSync();
  instance.closeSync();
}

const root = await mkdtemp(join(tmpdir(), 'cryptolake-rollups-bench-'));
try {
  const built = performance.now();
  await buildLake(root);
  console.log(`Built ${ROWS} rows over ${DAYS} days and their rollups in ${((performance.now() - built) / 1000).toFixed(1)} s`);
  const lake = await Lake.open(
    { kind: 'local', root, synthetic: true },
    { queryTimeoutMs: 120_000, memoryLimit: '2GB', threads: 4, connections: 1 },
    silentLogger,
    new Metrics(),
  );
  const query = { symbol: 'BTC', interval: '1d' as const, from: START, to: END };
  const answers: unknown[] = [];
  for (const source of ['raw', 'auto', 'rollups'] as CandleSource[]) {
    const queries = createLakeQueries(lake, { candleSource: source });
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      const candles = await queries.candles(query);
      times.push(performance.now() - started);
      if (run === 0) answers.push(candles);
    }
    times.sort((a, b) => a - b);
    console.log(
      `1d candles over ${DAYS} days from ${source === 'raw' ? 'raw prices' : source === 'auto' ? 'rollups + coverage check' : 'rollups alone'}: median ${times[Math.floor(RUNS / 2)]!.toFixed(0)} ms (min ${times[0]!.toFixed(0)}, max ${times.at(-1)!.toFixed(0)})`,
    );
  }
  console.log(`Same candles from both paths: ${isDeepStrictEqual(answers[0], answers[1]) && isDeepStrictEqual(answers[0], answers[2])}`);
  await lake.close();
} finally {
  await rm(root, { recursive: true, force: true });
}

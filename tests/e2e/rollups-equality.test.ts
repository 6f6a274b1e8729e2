import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { MERGE_CANDLE_PARTIALS_SQL } from '../../core/records/candle.ts';
import { liveParquetSql } from '../../core/lake-layout.ts';
import { Compactor } from '../../processor/compactor.ts';
import { Lake } from '../../lake-query/lake.ts';
import { createLakeQueries, type CandleInterval } from '../../lake-query/queries.ts';
import { lakeReader, runPipeline, type PipelineRun } from '../support/pipeline.ts';

const MINUTE = 60_000;

/** Per (symbol, source, minute): the rollup files merged, and the same computed by DuckDB from the raw files. */
async function rollupsAndRaw(run: PipelineRun): Promise<{ rollups: unknown[]; raw: unknown[] }> {
  const { db, root, close } = await lakeReader(run.adapters);
  try {
    const order = 'ORDER BY symbol, source, minute';
    const rollups = await db.runAndReadAll(
      `SELECT ${MERGE_CANDLE_PARTIALS_SQL} FROM ${liveParquetSql(root, 'candles_1m')} GROUP BY minute, symbol, source ${order}`,
    );
    const raw = await db.runAndReadAll(
      `WITH observed AS (SELECT id, any_value(ts) AS ts, any_value(symbol) AS symbol, any_value(source) AS source,
                                any_value(price_usd) AS p, any_value(volume_24h_usd) AS v, count(*) AS copies
                           FROM ${liveParquetSql(root, 'prices')} GROUP BY id)
       SELECT time_bucket(INTERVAL 1 minute, ts) AS minute, symbol, source, arg_min(p, ts) AS open, min(ts) AS open_ts,
              max(p) AS high, min(p) AS low, arg_max(p, ts) AS close, max(ts) AS close_ts, count(*)::DOUBLE AS ticks,
              sum(copies)::DOUBLE AS raw_rows, arg_max(v, ts) AS volume_24h_usd, max(ts) FILTER (WHERE v IS NOT NULL) AS volume_ts
         FROM observed GROUP BY ALL ${order}`,
    );
    return { rollups: rollups.getRowObjectsJS(), raw: raw.getRowObjectsJS() };
  } finally {
    close();
  }
}

describe('1-minute rollups of a lake written by the processor', () => {
  it('equal candles computed from the raw records, and give the same API candles as the raw path, also after compaction', async () => {
    const lakeDir = await mkdtemp(join(tmpdir(), 'cryptolake-rollups-'));
    const run = await runPipeline(
      {
        PROVIDERS: 'synthetic',
        SYMBOLS: 'BTC,ETH,SOL',
        POLL_INTERVAL_MS: '20',
        FLUSH_INTERVAL_MS: '50',
        FLUSH_MAX_RECORDS: '10',
        LAKE_DIR: lakeDir,
      },
      40,
    );
    const lake = await Lake.open(
      run.adapters.lake,
      { queryTimeoutMs: 20_000, memoryLimit: '256MB', threads: 2, connections: 2 },
      silentLogger,
      new Metrics(),
    );
    try {
      const asked: string[] = [];
      const recording = { source: lake.source, hasFiles: lake.hasFiles.bind(lake), query: lake.query.bind(lake) };
      recording.query = async (what, sql, params) => {
        asked.push(what);
        return lake.query(what, sql, params);
      };
      const raw = createLakeQueries(lake, { candleSource: 'raw' });
      const auto = createLakeQueries(recording);

      const { raw: fromRaw } = await rollupsAndRaw(run);
      const times = (fromRaw as { minute: Date }[]).map((row) => row.minute.getTime());
      const first = Math.min(...times);
      const last = Math.max(...times) + MINUTE;
      const ranges = [
        { from: first - 86_400_000, to: last + 86_400_000 },
        { from: first, to: last },
        { from: first, to: first + MINUTE },
      ];
      const intervals: CandleInterval[] = ['1m', '5m', '1h', '1d'];

      async function assertSame(stage: string): Promise<void> {
        const { rollups, raw: direct } = await rollupsAndRaw(run);
        assert.equal(direct.length > 0, true);
        assert.deepEqual(rollups, direct, `${stage}: rollups = DuckDB over the raw records`);
        for (const symbol of run.symbols)
          for (const interval of intervals)
            for (const range of ranges) {
              asked.length = 0;
              const query = { symbol, interval, ...range };
              assert.deepEqual(await auto.candles(query), await raw.candles(query), `${stage}: ${symbol} ${interval}`);
              assert.ok(asked.includes(`candles for ${symbol} (${interval}) from rollups`), `${stage}: ${asked.join(', ')}`);
            }
      }

      await assertSame('as written');
      let now = Date.now();
      const compactor = await Compactor.open({ store: run.adapters.store, log: silentLogger, graceMs: 60_000, now: () => now });
      try {
        for (const day of await compactor.dayFolders('prices')) await compactor.compactDay(day);
        await assertSame('during the swap');
        now += 61_000;
        for (const day of await compactor.dayFolders('prices')) await compactor.compactDay(day);
        await assertSame('after the sweep');
        const left = await run.adapters.store.list('candles_1m/');
        assert.ok(
          left.every((file) => file.key.includes('/compacted-')),
          'only compacted rollup files remain',
        );
      } finally {
        await compactor.close();
      }
    } finally {
      await lake.close();
      await run.close();
    }
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LakeSession } from '../../core/adapters/ducklake/session.ts';
import { CANDLE_GRAINS, candles1m, type Rollup } from '../../core/datasets/index.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { Lake } from '../../lake-query/lake.ts';
import { createLakeQueries, type CandleInterval, type LakeReader } from '../../lake-query/queries.ts';
import { maintainLake } from '../../processor/maintenance.ts';
import { lakeReader, runPipeline, type PipelineRun } from '../support/pipeline.ts';

const MINUTE = 60_000;

/**
 * Per grain and (symbol, source, period): the rollup's merged view, and the same computed by
 * DuckDB straight from the raw rows (written here by hand, not from the rollup declarations).
 */
async function rollupsAndRaw(run: PipelineRun, grain: Rollup): Promise<{ rollups: unknown[]; raw: unknown[]; partials: number }> {
  const { db, close } = await lakeReader(run.adapters.lake);
  try {
    const period = grain.periodColumn;
    const columns = grain.columns.map(([name]) => name).join(', ');
    const rows = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjectsJS();
    const rollups = await rows(`SELECT ${columns} FROM ${grain.name} ORDER BY symbol, source, ${period}`);
    const raw = await rows(
      `SELECT time_bucket(INTERVAL '${grain.period}', ts) AS ${period}, symbol, source, arg_min(price_usd, ts) AS open, min(ts) AS open_ts,
              max(price_usd) AS high, min(price_usd) AS low, arg_max(price_usd, ts) AS close, max(ts) AS close_ts, count(*)::BIGINT AS ticks,
              arg_max(volume_24h_usd, ts) AS volume_24h_usd, max(ts) FILTER (WHERE volume_24h_usd IS NOT NULL) AS volume_ts,
              arg_max_null(change_24h_pct, ts) AS close_change_24h_pct, arg_max_null(market_cap_usd, ts) AS close_market_cap_usd,
              arg_max_null(ingested_at, ts) AS close_ingested_at
         FROM prices GROUP BY ALL ORDER BY symbol, source, ${period}`,
    );
    const [partials] = await rows(`SELECT count(*)::INTEGER AS n FROM ${grain.name}_partials`);
    return { rollups, raw, partials: Number(partials!.n) };
  } finally {
    close();
  }
}

describe('candle rollups of a lake written by the processor, at every grain', () => {
  it('equal candles computed from the raw records, and give the API the same candles as the raw path, before and after maintenance', async () => {
    const lakeDir = await mkdtemp(join(tmpdir(), 'cryptolake-rollups-'));
    // Tiny flushes: a minute's rows are spread over many commits, so each minute has many partials.
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
      const recording: LakeReader = {
        catalog: lake.catalog,
        query: (what, sql, params) => {
          asked.push(sql);
          return lake.query(what, sql, params);
        },
      };
      const raw = createLakeQueries(lake, { candlesFrom: 'raw' });
      const auto = createLakeQueries(recording);

      const first = await rollupsAndRaw(run, candles1m);
      assert.ok(first.partials > first.rollups.length, `${first.partials} partials for ${first.rollups.length} candles`);
      const times = (first.raw as { minute: Date }[]).map((row) => row.minute.getTime());
      const start = Math.min(...times);
      const end = Math.max(...times) + MINUTE;
      const ranges = [
        { from: start - 86_400_000, to: end + 86_400_000 },
        { from: start, to: end },
        { from: start, to: start + MINUTE },
      ];
      const intervals: CandleInterval[] = ['1m', '5m', '1h', '1d'];

      async function assertSame(stage: string): Promise<void> {
        for (const grain of CANDLE_GRAINS) {
          const { rollups, raw: direct } = await rollupsAndRaw(run, grain);
          assert.equal(direct.length > 0, true);
          assert.deepEqual(rollups, direct, `${stage}: ${grain.name} = DuckDB over the raw records`);
        }
        for (const symbol of run.symbols)
          for (const interval of intervals)
            for (const range of ranges) {
              asked.length = 0;
              const query = { symbol, interval, ...range };
              assert.deepEqual(await auto.candles(query), await raw.candles(query), `${stage}: ${symbol} ${interval}`);
              // Every range here is on whole minutes: the rollups answer it all, the raw prices are not read.
              assert.ok(asked.length === 1 && asked[0]!.includes('_partials') && !/FROM prices\b/.test(asked[0]!), `${stage}: ${asked[0]}`);
            }
      }

      await assertSame('as committed');
      const writer = await LakeSession.open(run.adapters.lake, { readOnly: false, threads: 1 });
      try {
        const report = await maintainLake(
          await writer.connect(),
          { snapshotRetentionMs: 0, fileCleanupGraceMs: 0, rollupsSinceMs: 0 },
          silentLogger,
        );
        assert.deepEqual(report.failures, []);
        assert.ok(report.rollupGroupsMerged > 0);
      } finally {
        writer.close();
      }
      for (const grain of CANDLE_GRAINS) {
        const after = await rollupsAndRaw(run, grain);
        assert.equal(after.partials, after.rollups.length, `${grain.name}: one partial per candle after maintenance`);
      }
      await assertSame('after maintenance');
    } finally {
      await lake.close();
      await run.close();
    }
  });
});

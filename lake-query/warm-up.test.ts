import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { recordingLogger } from '../core/testing/log.ts';
import { openAdapters } from '../core/adapters/select.ts';
import { trades } from '../core/datasets/index.ts';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { tradeRecord } from '../core/testing/trade-record.ts';
import { FixtureLake } from '../tests/support/fixture-lake.ts';
import { Lake } from './lake.ts';
import { startLakeQuery } from './server.ts';
import { RANGES } from '../dashboard/src/api.ts';
import { PAGE_DEFAULTS as PAGE } from '../dashboard/src/page-defaults.ts';
import { CHART_VIEWS, DASHBOARD_SYMBOL, FIRST_PAGE, warmUp } from './warm-up.ts';

const NOW = Date.now();
const MINUTE = 60_000;

/** Two days of prices of `symbols` from two sources, every 10 minutes up to now. */
async function writeTwoDays(fixture: FixtureLake, symbols: string[]): Promise<void> {
  await fixture.writePrices(
    Array.from({ length: 288 }, (_, i) =>
      symbols.flatMap((symbol, s) =>
        ['a', 'b'].map((source) => ({ symbol, source, ts: NOW - (287 - i) * 10 * MINUTE, price: 100 * (s + 1) + i / 10 })),
      ),
    ).flat(),
  );
}

/** The lake queries a registry has timed, by outcome (`ok` or an error code). */
async function queriesTimed(metrics: Metrics): Promise<Record<string, number>> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'lake_query_duration_seconds');
  const counts: Record<string, number> = {};
  for (const value of metric?.values ?? []) {
    if ((value as { metricName?: string }).metricName === 'lake_query_duration_seconds_count')
      counts[String(value.labels.outcome)] = value.value;
  }
  return counts;
}

/** Starts lake-query on the fixture with `env`, as `npm run lake-query` does. */
async function startOn(fixture: FixtureLake, env: Record<string, string>, log = silentLogger, metrics = new Metrics()) {
  const settings = { LAKE_DIR: fixture.root, PROVIDERS: 'synthetic', PORT: '0', ...env };
  const adapters = await openAdapters(settings, silentLogger);
  const server = await startLakeQuery(adapters, settings, log, metrics);
  return {
    server,
    close: async () => {
      await server.close();
      await adapters.close();
    },
  };
}

describe('the warm-up of lake-query at start', () => {
  it('asks the latest prices, the charts and indicators of the symbol the dashboard opens on and the busiest trade market, then says so once', async () => {
    const fixture = await FixtureLake.create();
    await writeTwoDays(fixture, ['BTC', 'ETH']);
    await fixture.write(
      trades,
      Array.from({ length: 20 }, (_, i) =>
        tradeRecord('binance', 'BTCUSDT', i + 1, NOW - 30 * MINUTE + i * 1_000, 64_000 + i, 0.01, 'buy'),
      ),
    );
    const { log, lines } = recordingLogger();
    const metrics = new Metrics();
    const { server, close } = await startOn(fixture, {}, log, metrics);
    try {
      await server.warm;
      const done = lines.filter((line) => line.component === 'warm-up');
      assert.equal(done.length, 1, JSON.stringify(done));
      assert.equal(done[0]!.msg, 'Warmed the lake with what the dashboard asks first');
      assert.equal(done[0]!.symbol, 'BTC');
      assert.equal(done[0]!.market, 'binance BTCUSDT');
      assert.equal(typeof done[0]!.durationMs, 'number');
      // Latest, partitions, alerts, 5 charts, indicators, markets, trade candles, tape, gaps: 13 questions at least.
      const statements = done[0]!.statements as number;
      assert.ok(statements >= 13, `only ${statements} statements`);
      // Nothing but the warm-up has asked the lake yet: the metrics count its statements, all answered.
      assert.deepEqual(await queriesTimed(metrics), { ok: statements });
      assert.equal((await fetch(`${server.url}/api/latest`)).status, 200);
    } finally {
      await close();
      await fixture.remove();
    }
  });

  it('logs a warm-up that fails as a warning with its reason, and the server answers anyway', async () => {
    const fixture = await FixtureLake.create();
    await writeTwoDays(fixture, ['BTC']);
    // The daily rollup the latest prices read, written out of the catalog into files, then damaged.
    await fixture.rows(`CALL ducklake_flush_inlined_data('lake')`);
    const files = await fixture.rows(
      `SELECT f.path FROM __ducklake_metadata_lake.main.ducklake_data_file f JOIN __ducklake_metadata_lake.main.ducklake_table t USING (table_id)
        WHERE t.table_name = 'candles_1d_partials' AND f.end_snapshot IS NULL AND t.end_snapshot IS NULL`,
    );
    assert.ok(files.length > 0, 'the daily rollup is in files');
    for (const file of files) await truncate(join(fixture.root, 'main', 'candles_1d_partials', String(file.path)), 100);
    const { log, lines } = recordingLogger();
    const { server, close } = await startOn(fixture, {}, log);
    try {
      await server.warm;
      const warnings = lines.filter((line) => line.component === 'warm-up');
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      assert.equal(warnings[0]!.level, 40);
      assert.match(String(warnings[0]!.msg), /^The warm-up failed/);
      const reason = String((warnings[0]!.err as { message?: string } | undefined)?.message);
      assert.match(reason, /the latest prices needs the data file main\/candles_1d_partials\//);
      const partitions = await fetch(`${server.url}/api/partitions`);
      assert.equal(partitions.status, 200);
      assert.ok(((await partitions.json()) as { totals: { days: number } }).totals.days >= 2);
      const health = await fetch(`${server.url}/api/health`);
      assert.match(health.headers.get('content-type') ?? '', /json/);
    } finally {
      await close();
      await fixture.remove();
    }
  });

  it('asks nothing when WARM_UP=false', async () => {
    const fixture = await FixtureLake.create();
    await writeTwoDays(fixture, ['BTC']);
    const { log, lines } = recordingLogger();
    const metrics = new Metrics();
    const { server, close } = await startOn(fixture, { WARM_UP: 'false' }, log, metrics);
    try {
      await server.warm;
      assert.deepEqual(await queriesTimed(metrics), {});
      assert.deepEqual(
        lines.filter((line) => line.component === 'warm-up'),
        [],
      );
    } finally {
      await close();
      await fixture.remove();
    }
  });
});

describe('warmUp', () => {
  const open = (fixture: FixtureLake) =>
    Lake.open(fixture.location, { queryTimeoutMs: 5_000, memoryLimit: '256MB', threads: 1, connections: 2 }, silentLogger, new Metrics());

  it("asks what the dashboard's page asks when it opens, and charts each range of its range picker", () => {
    const [opening] = CHART_VIEWS;
    assert.deepEqual(
      { symbol: DASHBOARD_SYMBOL, range: opening.range, interval: opening.interval },
      { symbol: PAGE.symbol, range: PAGE.range, interval: PAGE.interval },
    );
    assert.deepEqual(Object.fromEntries(CHART_VIEWS.map((view) => [view.range, view.rangeMs])), RANGES);
    assert.deepEqual(FIRST_PAGE, {
      indicators: { interval: PAGE.interval, window: PAGE.indicatorWindow },
      tradeCandles: PAGE.tradeCandles,
      tape: PAGE.tape,
      gaps: PAGE.gaps,
      alerts: PAGE.alerts,
    });
  });

  it('charts the first symbol of the latest prices when the lake has not the one asked for', async () => {
    const fixture = await FixtureLake.create();
    await writeTwoDays(fixture, ['SOL', 'ETH']);
    const lake = await open(fixture);
    try {
      const report = await warmUp(lake, { now: NOW });
      assert.equal(report.symbol, 'ETH');
      assert.equal(report.market, undefined, 'no trades: no market');
      assert.equal(report.stopped, false);
    } finally {
      await lake.close();
      await fixture.remove();
    }
  });

  it('asks only what needs no symbol on a lake without prices yet', async () => {
    const fixture = await FixtureLake.create();
    const lake = await open(fixture);
    try {
      const report = await warmUp(lake, { now: NOW, symbol: 'BTC' });
      assert.equal(report.symbol, undefined);
      assert.equal(report.stopped, false);
      // Latest, partitions, alerts, trade markets, gaps.
      assert.ok(report.statements >= 5 && report.statements < 13, `${report.statements} statements`);
    } finally {
      await lake.close();
      await fixture.remove();
    }
  });

  it('stops before its next statement once its signal is aborted', async () => {
    const fixture = await FixtureLake.create();
    await writeTwoDays(fixture, ['BTC']);
    const lake = await open(fixture);
    try {
      const report = await warmUp(lake, { now: NOW, signal: AbortSignal.abort() });
      assert.deepEqual({ stopped: report.stopped, statements: report.statements }, { stopped: true, statements: 0 });
    } finally {
      await lake.close();
      await fixture.remove();
    }
  });
});

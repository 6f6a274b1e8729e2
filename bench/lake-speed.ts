/**
 * Every route the dashboard calls, on a big lake, against the floor:
 *
 *   npx tsx bench/lake-speed.ts [--prices 100000000] [--trades 10000000] [--days 365] [--runs 10] [--minio] [--quick] [--route indicators]
 *   (--quick = 10 000 000 prices and 1 000 000 trades; --route = only the routes whose name holds it,
 *   the result written beside the full one as lake-speed-<route>.json)
 *
 * Builds (or reuses, from ~/.cache/cryptolake/bench/) the lake of bench/big-lake.ts, then asks each
 * route through the HTTP app (`app.request()`, result cache off, the app's clock at the lake's end):
 *  - cold: the first answer of a freshly opened Lake (new DuckDB, catalog attached anew), `runs` opens;
 *  - cold after warm-up: the same, each Lake first warmed as lake-query warms it at start
 *    (`lake-query/warm-up.ts`, awaited, at the same clock) and its duration kept (median reported);
 *  - warm: `runs` more asks on one open Lake after a first.
 * The routes ask BTC and binance BTCUSDT. The warm-up is pointed at another symbol (ETH) as the one
 * the dashboard opens on, and picks the busiest trade market itself (both reported): were it BTC,
 * the chart and indicator routes after it would be the very statements it asked. The routes
 * without a symbol (latest, partitions, alerts, trade markets, gaps) it asks as a server would.
 * With `--minio`, the same again on the same lake built in the services' storage (PostgreSQL
 * catalog, MinIO data; built for the run and deleted after).
 * The floor of a route: the same answer computed by plain DuckDB from one local Parquet file that
 * holds only the rows it needs, sorted (warm, `runs` asks); routes that read only the catalog or
 * tiny tables have none. Writes bench/results/lake-speed.json (`-quick` with --quick). Peak RSS of this process while answering (VmHWM, reset after the build)
 * with the Lake's DuckDB memory limit. p50/p95/p99 in ms.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LakeSession } from '../core/adapters/ducklake/session.ts';
import { tableRef } from '../core/adapters/ducklake/tables.ts';
import type { LakeLocation } from '../core/adapters/select.ts';
import { resolveExtensionDir } from '../core/lake-location.ts';
import { stack } from '../tests/support/stack.ts';
import { bigLake, bigLakeDir, writeBigLake, type BigLakeShape } from './big-lake.ts';
import { openBenchApp, timeRequest } from './http-app.ts';
import { median, peakRssMib, percentile, timeStatements, removeStackLake, round, stackLake, writeResult } from './support.ts';
import type { WarmUpReport } from '../lake-query/warm-up.ts';

const { values } = parseArgs({
  options: {
    prices: { type: 'string' },
    trades: { type: 'string' },
    days: { type: 'string', default: '365' },
    runs: { type: 'string', default: '10' },
    minio: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    route: { type: 'string' },
  },
});
const END = Date.UTC(2026, 2, 1);
const DAY = 86_400_000;
const SHAPE: BigLakeShape = {
  prices: Number(values.prices ?? (values.quick ? 10_000_000 : 100_000_000)),
  trades: Number(values.trades ?? (values.quick ? 1_000_000 : 10_000_000)),
  days: Number(values.days),
  end: END,
};
const RUNS = Number(values.runs);
const MEMORY_LIMIT = '1GB';
const log = (line: string) => process.stderr.write(`${line}\n`);
const ms = (t: number) => `make_timestamp(${t}::BIGINT * 1000)`;
const span = (days: number) => Math.min(days, SHAPE.days) * DAY;
/** What the routes ask: the dashboard's own default symbol, and one market of it. */
const SYMBOL = 'BTC';
const MARKET = { venue: 'binance', market: 'BTCUSDT' };
/** The symbol the warm-up charts, standing for the one the dashboard opens on: not the routes' own. */
const WARM_UP_SYMBOL = 'ETH';

/** One dashboard route, and its floor: the rows it needs (a WHERE on a table) and the SQL over them (`{file}`). */
interface Route {
  path: string;
  floor?: { table: 'prices' | 'trades'; where: string; sql: string };
}

/** The composite candles of SYMBOL over the range, as plain SQL: each source's candle, then the median across sources. */
function compositeFloor(from: number, to: number, bucket: string): Route['floor'] {
  return {
    table: 'prices',
    where: `symbol = '${SYMBOL}' AND ts >= ${ms(from)} AND ts < ${ms(to)}`,
    sql: `WITH s AS (SELECT time_bucket(INTERVAL '${bucket}', ts) AS t, source, arg_min(price_usd, ts) AS o, max(price_usd) AS h,
                            min(price_usd) AS l, arg_max(price_usd, ts) AS c, count(*) AS n FROM '{file}' GROUP BY 1, 2)
          SELECT t, median(o), median(h), median(l), median(c), sum(n) FROM s GROUP BY t ORDER BY t`,
  };
}

function candles(interval: string, days: number, bucket: string): Route {
  const from = END - span(days);
  return { path: `/api/candles?symbol=${SYMBOL}&interval=${interval}&from=${from}&to=${END}`, floor: compositeFloor(from, END, bucket) };
}

const ROUTES: Record<string, Route> = {
  latest: {
    path: '/api/latest',
    // Every series ticks within the last hour: the rows latest needs are there.
    floor: {
      table: 'prices',
      where: `ts >= ${ms(END - 3_600_000)}`,
      sql: `SELECT symbol, arg_max(price_usd, ts), max(ts) FROM '{file}' GROUP BY symbol ORDER BY symbol`,
    },
  },
  '1-day 1m candles': candles('1m', 1, '1 minute'),
  '1-week 15m candles': candles('15m', 7, '15 minutes'),
  '90-day 1d candles': candles('1d', 90, '1 day'),
  '1-year 1d candles': candles('1d', 365, '1 day'),
  'indicators (1m, window 20)': {
    path: `/api/indicators?symbol=${SYMBOL}&interval=1m&window=20`,
    floor: compositeFloor(END - 21 * 60_000, END, '1 minute'),
  },
  'trade candles (1 day, 1m)': {
    path: `/api/trade-candles?venue=${MARKET.venue}&market=${MARKET.market}&interval=1m&from=${END - DAY}&to=${END}`,
    floor: {
      table: 'trades',
      where: `venue = '${MARKET.venue}' AND market = '${MARKET.market}' AND ts >= ${ms(END - DAY)} AND ts < ${ms(END)}`,
      sql: `SELECT time_bucket(INTERVAL 1 minute, ts) AS t, arg_min(price, trade_id), max(price), min(price), arg_max(price, trade_id),
                   sum(qty), sum(price * qty), count(*) FROM '{file}' GROUP BY 1 ORDER BY 1`,
    },
  },
  'trade tape (one market)': {
    path: `/api/trades?venue=${MARKET.venue}&market=${MARKET.market}&limit=100`,
    floor: {
      table: 'trades',
      where: `venue = '${MARKET.venue}' AND market = '${MARKET.market}' AND ts >= ${ms(END - 3_600_000)}`,
      sql: `SELECT * FROM '{file}' ORDER BY ts DESC, trade_id DESC LIMIT 100`,
    },
  },
  'trade markets (24 h)': {
    path: '/api/trade-markets',
    floor: {
      table: 'trades',
      where: `ts >= ${ms(END - DAY)}`,
      sql: `SELECT venue, market, count(*), sum(qty), max(ts) FROM '{file}' GROUP BY ALL ORDER BY 3 DESC`,
    },
  },
  partitions: { path: '/api/partitions' },
  pipeline: { path: '/api/pipeline' },
  alerts: { path: `/api/alerts?limit=500&symbol=${SYMBOL}&from=${END - DAY}&to=${END}` },
  gaps: { path: '/api/gaps?limit=100' },
};

/** The routes this run measures: all, or those whose name holds `--route`. */
function measured(): [string, Route][] {
  return Object.entries(ROUTES).filter(([name]) => values.route === undefined || name.includes(values.route));
}

type Stats = { p50: number; p95: number; p99: number };
const stats = (times: number[]): Stats => ({
  p50: round(percentile(times, 50), 1),
  p95: round(percentile(times, 95), 1),
  p99: round(percentile(times, 99), 1),
});

/** The app on `location`, as every query benchmark opens it. */
const openApp = (location: LakeLocation) => openBenchApp(location, { queryTimeoutMs: 600_000, memoryLimit: MEMORY_LIMIT, now: END });

type RouteTimes = { cold: Stats; coldAfterWarmUp: Stats; warm: Stats };

/** What the warm-ups before the "cold after warm-up" answers asked, and how long they took. */
interface WarmUpSummary {
  /** The symbol it charted and the trade markets it asked (one unless the busiest changed), beside the routes' own. */
  symbol: string | null;
  markets: string[];
  routes: { symbol: string; market: string };
  opens: number;
  statements: number;
  medianMs: number;
}

async function measureRoutes(location: LakeLocation): Promise<{ routes: Record<string, RouteTimes>; warmUp: WarmUpSummary }> {
  const routes: Record<string, RouteTimes> = {};
  const warmUps: WarmUpReport[] = [];
  for (const [name, route] of measured()) {
    const cold = await firstAnswers(location, route.path);
    const coldAfterWarmUp = await firstAnswers(location, route.path, warmUps);
    const opened = await openApp(location);
    await timeRequest(opened.app, route.path);
    const warm: number[] = [];
    for (let i = 0; i < RUNS; i += 1) warm.push(await timeRequest(opened.app, route.path));
    await opened.close();
    routes[name] = { cold: stats(cold), coldAfterWarmUp: stats(coldAfterWarmUp), warm: stats(warm) };
    log(`${name}: ${JSON.stringify(routes[name])}`);
  }
  const warmUp: WarmUpSummary = {
    symbol: warmUps[0]?.symbol ?? null,
    markets: [...new Set(warmUps.map((report) => report.market ?? 'none'))],
    routes: { symbol: SYMBOL, market: `${MARKET.venue} ${MARKET.market}` },
    opens: warmUps.length,
    statements: warmUps[0]?.statements ?? 0,
    medianMs: round(median(warmUps.map((report) => report.durationMs)), 1),
  };
  log(
    `warm-up: charted ${warmUp.symbol}, asked the trades of ${warmUp.markets.join(', ')}, ${warmUp.statements} statements, ` +
      `${warmUp.medianMs} ms median over ${warmUp.opens} opens; the routes ask ${SYMBOL} and ${warmUp.routes.market}`,
  );
  if (warmUp.markets.includes(warmUp.routes.market))
    log(`  note: the warm-up asked the trades of ${warmUp.routes.market} too: the trade routes after it are not cold`);
  return { routes, warmUp };
}

/** The first answer of `path` on each of `RUNS` freshly opened Lakes; with `warmUps`, each Lake warmed first (its report kept there). */
async function firstAnswers(location: LakeLocation, path: string, warmUps?: WarmUpReport[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const opened = await openApp(location);
    if (warmUps) warmUps.push(await opened.warmUp(WARM_UP_SYMBOL));
    times.push(await timeRequest(opened.app, path));
    await opened.close();
  }
  return times;
}

/** Each route's rows in one sorted Parquet file (kept beside the lake), then its SQL timed on it. */
async function measureFloors(location: LakeLocation): Promise<Record<string, Stats>> {
  const dir = join(bigLakeDir(SHAPE), 'floors');
  await mkdir(dir, { recursive: true });
  const session = await LakeSession.open(location, { readOnly: true, memoryLimit: '2GB', threads: 2 });
  const files: Record<string, string> = {};
  try {
    const db = await session.connect();
    for (const [name, route] of measured()) {
      if (!route.floor) continue;
      const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.parquet`);
      const order = route.floor.table === 'prices' ? 'symbol, source, ts' : 'venue, market, trade_id';
      if (!existsSync(file))
        await db.run(
          `COPY (SELECT * FROM ${tableRef(route.floor.table)} WHERE ${route.floor.where} ORDER BY ${order}) TO '${file}' (FORMAT parquet, COMPRESSION snappy)`,
        );
      files[name] = file;
    }
  } finally {
    session.close();
  }
  const statements = Object.fromEntries(
    Object.entries(files).map(([name, file]) => [name, ROUTES[name]!.floor!.sql.replaceAll('{file}', file)]),
  );
  const times = await timeStatements(statements, RUNS);
  return Object.fromEntries(Object.entries(times).map(([name, runs]) => [name, stats(runs)]));
}

const env = await stack();
log(`lake of ${SHAPE.prices} prices and ${SHAPE.trades} trades over ${SHAPE.days} days: ${bigLakeDir(SHAPE)}`);
const built = await bigLake(SHAPE, resolveExtensionDir({ duckdbExtensionDir: env.DUCKDB_EXTENSION_DIR }), log);
log(
  `${built.reused ? 'reused' : 'built'} (${built.buildSeconds} s to build): ${built.series} series, a tick every ${built.tickMs} ms per series`,
);
// Forget the build's peak: what is measured next is answering.
await writeFile('/proc/self/clear_refs', '5').catch(() => undefined);
const floor = await measureFloors(built.location);
const { routes: local, warmUp: localWarmUp } = await measureRoutes(built.location);
const answeringPeakRssMb = round(await peakRssMib(process.pid));
let minio: Awaited<ReturnType<typeof measureRoutes>> | undefined;
if (values.minio) {
  const name = `lake-speed-${Date.now().toString(36)}`;
  try {
    const services = await stackLake(env, name);
    const started = performance.now();
    await writeBigLake(services, SHAPE, log);
    log(`built in the services' storage in ${round((performance.now() - started) / 1000)} s`);
    minio = await measureRoutes(services);
  } finally {
    await removeStackLake(env, name);
  }
}
const ratio = Object.fromEntries(
  Object.entries(floor).map(([name, f]) => [
    name,
    {
      warm: round(local[name]!.warm.p95 / Math.max(f.p95, 0.1), 1),
      cold: round(local[name]!.cold.p95 / Math.max(f.p95, 0.1), 1),
      coldAfterWarmUp: round(local[name]!.coldAfterWarmUp.p95 / Math.max(f.p95, 0.1), 1),
    },
  ]),
);
await writeResult(`lake-speed${values.quick ? '-quick' : ''}${values.route ? `-${values.route.replace(/[^a-z0-9]+/gi, '-')}` : ''}`, {
  rows: SHAPE.prices,
  shape: SHAPE,
  series: built.series,
  tickMs: built.tickMs,
  buildSeconds: built.buildSeconds,
  reused: built.reused,
  runs: RUNS,
  memoryLimit: MEMORY_LIMIT,
  answeringPeakRssMb,
  local,
  minio: minio?.routes,
  warmUp: { local: localWarmUp, minio: minio?.warmUp },
  floor,
  ratioToFloorP95: ratio,
  node: process.version,
  at: new Date().toISOString(),
});

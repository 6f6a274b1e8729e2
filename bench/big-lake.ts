/**
 * The lake the speed benchmark reads (bench/lake-speed.ts): `prices` price rows and `trades`
 * exchange trades over the `days` days before `end`, written with DuckDB straight into the
 * project's own DuckLake tables (`ensureLakeTables`: same declarations, partitions and sort
 * order) with their rollups at every grain in the same transaction, as the processor commits.
 *
 * The shape is realistic: the ~100 symbols of the scraper's symbol table, 3 to 6 providers per
 * symbol each a few basis points off the others and one of them now and then 5% off (an outlier),
 * ticks every few seconds per series (the interval follows from `prices`, `days` and the series),
 * each symbol's path shaped by the real BTC 1-minute closes of /work/shared/data/real-prices;
 * trades on 15 markets of the three venues in bursts of 50 trades 20 ms apart; and the alerts and
 * gaps a year of running leaves (about one alert per symbol every three days, one gap per market
 * every other day), so the routes that list them read a table that has rows, as in any lake that
 * has run a while.
 *
 * Built once per shape and kept under ~/.cache/cryptolake/bench/ (a `built.json` marks a complete
 * lake): the 100 M run reuses it, the 1 B run is a one-off.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { LAKE, sqlString } from '../core/adapters/ducklake/attach.ts';
import { rollupStatements } from '../core/adapters/ducklake/rollups.ts';
import { LakeSession } from '../core/adapters/ducklake/session.ts';
import { ensureLakeTables, tableRef } from '../core/adapters/ducklake/tables.ts';
import type { LakeLocation } from '../core/adapters/select.ts';
import { alerts, gaps, prices, trades, type IngestedDataset } from '../core/datasets/index.ts';
import { SYMBOL_TABLE } from '../scraper/symbol-table.ts';
import { localLake } from './support.ts';

const DAY_MS = 86_400_000;
const PROVIDERS = ['coingecko', 'binance', 'kraken', 'coinbase', 'coincap', 'coinmarketcap'];
/** The markets trades are generated for: the busiest pairs of each venue. */
const MARKETS: [venue: string, market: string, symbol: string][] = [
  ...['BTC', 'ETH', 'SOL', 'XRP', 'DOGE', 'ADA', 'LTC'].map((s) => ['binance', `${s}USDT`, s]),
  ...['BTC', 'ETH', 'SOL', 'XRP'].map((s) => ['coinbase', `${s}-USD`, s]),
  ...['BTC', 'ETH', 'SOL', 'XRP'].map((s) => ['kraken', `${s}/USD`, s]),
].map(([venue, market, symbol]) => [venue!, market!, symbol!]);
const BURST = 50;
const REAL_CURVE = process.env.CRYPTOLAKE_SHARED
  ? join(process.env.CRYPTOLAKE_SHARED, 'data/real-prices/binanceus_BTCUSDT_1m_20230301_20230321.csv')
  : join(import.meta.dirname, '../../shared/data/real-prices/binanceus_BTCUSDT_1m_20230301_20230321.csv');

/** How big the lake is. */
export interface BigLakeShape {
  prices: number;
  trades: number;
  days: number;
  /** epoch ms, a UTC midnight */
  end: number;
}

/** The symbols of the lake: the scraper's symbol table. */
export const BIG_SYMBOLS = Object.keys(SYMBOL_TABLE);
/** Each symbol's price series (symbol, source): 3 to 6 sources a symbol. */
const SERIES = BIG_SYMBOLS.flatMap((symbol, i) => PROVIDERS.slice(0, 3 + (i % 4)).map((source, j) => ({ symbol, i, source, j })));

/** The folder a shape's lake is kept in. */
export function bigLakeDir(shape: BigLakeShape): string {
  return join(homedir(), '.cache/cryptolake/bench', `lake-${shape.prices}-${shape.trades}-${shape.days}d-${shape.end}`);
}

/** What a built lake holds, with the seconds the build took. */
export interface BigLake {
  location: LakeLocation;
  /** The alerts and gaps are in it (a lake kept from before they were part of the shape gets them once). */
  events: boolean;
  shape: BigLakeShape;
  series: number;
  tickMs: number;
  buildSeconds: number;
  reused: boolean;
}

/** The local lake of `shape`, built unless a complete one is kept. */
export async function bigLake(shape: BigLakeShape, extensionDir: string | undefined, log: (line: string) => void): Promise<BigLake> {
  const dir = bigLakeDir(shape);
  const location = localLake(dir, extensionDir);
  const marker = join(dir, 'built.json');
  if (existsSync(marker)) {
    const kept = JSON.parse(await readFile(marker, 'utf8')) as Omit<BigLake, 'location'>;
    if (!kept.events) {
      await withLake(location, (db) => writeEvents(db, shape));
      await writeFile(marker, JSON.stringify({ ...kept, events: true }));
    }
    return { ...kept, events: true, location, reused: true };
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const started = performance.now();
  await writeBigLake(location, shape, log);
  const built = {
    shape,
    events: true,
    series: SERIES.length,
    tickMs: tickMs(shape),
    buildSeconds: Math.round((performance.now() - started) / 1000),
    reused: false,
  };
  await writeFile(marker, JSON.stringify(built));
  return { ...built, location };
}

function tickMs(shape: BigLakeShape): number {
  return Math.floor((shape.days * DAY_MS * SERIES.length) / shape.prices);
}

/** The price rows with `ts` in [from, to): tick k of series s at start + k * tick + its offset. */
function priceRowsSql(shape: BigLakeShape, curveLength: number, from: number, to: number): string {
  const start = shape.end - shape.days * DAY_MS;
  const tick = tickMs(shape);
  const first = Math.max(0, Math.floor((from - start) / tick));
  const last = Math.ceil((to - start) / tick);
  // Row k of each series is in [start + k * tick, start + (k + 1) * tick): a time range is a range of k.
  return `
    SELECT s.source || ':' || s.symbol || ':' || epoch_ms(t.ts) AS id, t.ts, s.symbol, s.source,
           s.base * c.ratio * (1 + s.bias) * (CASE WHEN hash(k.range, s.j) % 2000 = 0 THEN 1.05 ELSE 1 END) AS price_usd,
           s.base * 1e6 * (2 + sin(k.range / 900.0)) AS volume_24h_usd, s.base * 1e7 AS market_cap_usd,
           (c.ratio - 1) * 100 AS change_24h_pct, t.ts + INTERVAL 2 SECOND AS ingested_at
      FROM range(${first}, ${Math.max(first, last)}) k
      CROSS JOIN memory.series s
      JOIN memory.curve c ON c.i = ((k.range * ${tick}) // 60000 + s.i * 997) % ${curveLength}
      , LATERAL (SELECT make_timestamp((${start} + k.range * ${tick} + (s.i * 7919 + s.j * 1237) % ${tick})::BIGINT * 1000) AS ts) t
     WHERE t.ts >= make_timestamp(${from}::BIGINT * 1000) AND t.ts < make_timestamp(${to}::BIGINT * 1000)`;
}

/** The trades with `ts` in [from, to): trade r of a market in burst r // 50, 20 ms after the one before. */
function tradeRowsSql(shape: BigLakeShape, curveLength: number, from: number, to: number): string {
  const start = shape.end - shape.days * DAY_MS;
  const perMarket = Math.ceil(shape.trades / MARKETS.length);
  const gap = Math.floor((shape.days * DAY_MS) / Math.ceil(perMarket / BURST));
  const first = Math.max(0, Math.floor((from - start) / gap)) * BURST;
  const last = Math.min(perMarket, Math.ceil((to - start) / gap) * BURST);
  return `
    SELECT m.venue || ':' || m.market || ':' || r.range AS id, t.ts, m.symbol, m.venue, m.market,
           m.base * c.ratio * (1 + ((hash(r.range, m.k) % 200)::DOUBLE - 100) / 1e5) AS price,
           0.001 + (hash(m.k, r.range) % 1000) / 1e4 AS qty, CASE WHEN hash(r.range) % 2 = 0 THEN 'buy' ELSE 'sell' END AS side,
           r.range AS trade_id, 'stream' AS via, t.ts + INTERVAL 50 MILLISECOND AS ingested_at
      FROM range(${first}, ${Math.max(first, last)}) r
      CROSS JOIN memory.markets m
      JOIN memory.curve c ON c.i = ((r.range // ${BURST} * ${gap}) // 60000 + m.i * 997) % ${curveLength}
      , LATERAL (SELECT make_timestamp((${start} + r.range // ${BURST} * ${gap} + (r.range % ${BURST}) * 20)::BIGINT * 1000) AS ts) t
     WHERE t.ts >= make_timestamp(${from}::BIGINT * 1000) AND t.ts < make_timestamp(${to}::BIGINT * 1000)`;
}

/** One transaction per stretch of days: a dataset's rows, sorted as declared, and its rollups at every grain. */
async function commitSlice(db: DuckDBConnection, dataset: IngestedDataset, rowsSql: string, note: string) {
  await db.run(`CREATE OR REPLACE TABLE memory.slice AS ${rowsSql}`);
  const rollups = rollupStatements(dataset, 'memory.slice');
  for (const sql of rollups.prepare) await db.run(sql);
  const columns = dataset.columns.map(([name]) => name).join(', ');
  await db.run('BEGIN');
  await db.run(`CALL ${LAKE}.set_commit_message('bench', ${sqlString(note)})`);
  await db.run(
    `INSERT INTO ${tableRef(dataset.name)} (${columns}) SELECT ${columns} FROM memory.slice ORDER BY ${dataset.sortBy.join(', ')}`,
  );
  for (const sql of rollups.inserts) await db.run(sql);
  await db.run('COMMIT');
  for (const sql of rollups.cleanup) await db.run(sql);
  await db.run('DROP TABLE memory.slice');
}

/** Writes the lake of `shape` into the empty lake at `location`. */
export async function writeBigLake(location: LakeLocation, shape: BigLakeShape, log: (line: string) => void): Promise<void> {
  await withLake(location, async (db) => {
    await db.run(
      `CREATE TABLE memory.curve AS SELECT (row_number() OVER (ORDER BY open_time) - 1)::BIGINT AS i, close / first(close) OVER (ORDER BY open_time) AS ratio
         FROM read_csv(${sqlString(REAL_CURVE)})`,
    );
    const [curve] = (await db.runAndReadAll('SELECT count(*)::INTEGER AS n FROM memory.curve')).getRowObjectsJS();
    const curveLength = Number(curve!.n);
    const base = (i: number) => 10 ** (4.8 - (i % 40) / 8);
    await db.run(
      `CREATE TABLE memory.series AS SELECT * FROM (VALUES ${SERIES.map(
        ({ symbol, i, source, j }) => `('${symbol}', '${source}', ${i}, ${j}, ${base(i)}, ${((j * 37) % 11) / 1e4 - 0.0005})`,
      ).join(', ')}) v(symbol, source, i, j, base, bias)`,
    );
    await db.run(
      `CREATE TABLE memory.markets AS SELECT * FROM (VALUES ${MARKETS.map(
        ([venue, market, symbol], k) =>
          `('${venue}', '${market}', '${symbol}', ${BIG_SYMBOLS.indexOf(symbol)}, ${k}, ${base(BIG_SYMBOLS.indexOf(symbol))})`,
      ).join(', ')}) v(venue, market, symbol, i, k, base)`,
    );
    // About 3 M rows per commit: within the writer's memory at any size.
    const daysPerCommit = Math.max(1, Math.floor((3e6 * shape.days) / (shape.prices + shape.trades)));
    const start = shape.end - shape.days * DAY_MS;
    for (let from = start; from < shape.end; from += daysPerCommit * DAY_MS) {
      const to = Math.min(shape.end, from + daysPerCommit * DAY_MS);
      const day = new Date(from).toISOString().slice(0, 10);
      await commitSlice(db, prices, priceRowsSql(shape, curveLength, from, to), `bench prices from ${day}`);
      await commitSlice(db, trades, tradeRowsSql(shape, curveLength, from, to), `bench trades from ${day}`);
      log(`  ${day}: ${Math.round(((to - start) / (shape.end - start)) * 100)}%`);
    }
    await writeEvents(db, shape);
  });
}

/** Runs `write` on a read-write session of the lake at `location`, its tables ensured. */
async function withLake(location: LakeLocation, write: (db: DuckDBConnection) => Promise<void>): Promise<void> {
  const session = await LakeSession.open(location, { readOnly: false, memoryLimit: '3GB', threads: 2 });
  try {
    const db = await session.connect();
    await ensureLakeTables(db);
    await write(db);
  } finally {
    session.close();
  }
}

/** The alerts and gaps of the shape's days, then every inlined row flushed to files, as maintenance leaves a lake. */
async function writeEvents(db: DuckDBConnection, shape: BigLakeShape): Promise<void> {
  await commitSlice(db, alerts, alertRowsSql(shape), 'bench alerts');
  await commitSlice(db, gaps, gapRowsSql(shape), 'bench gaps');
  await db.run(`CALL ducklake_flush_inlined_data(${sqlString(LAKE)})`);
}

/** About one alert per symbol every three days, of the four rule types, at a time of day set by a hash. */
function alertRowsSql(shape: BigLakeShape): string {
  const start = shape.end - shape.days * DAY_MS;
  const symbols = BIG_SYMBOLS.map((symbol, i) => `('${symbol}', ${i})`).join(', ');
  return `
    WITH raised AS (
      SELECT s.symbol, ['price_cross', 'move', 'zscore', 'divergence'][(1 + hash(d.range, s.i) % 4)::BIGINT] AS type,
             make_timestamp((${start} + d.range * ${DAY_MS} + hash(s.i, d.range) % ${DAY_MS})::BIGINT * 1000) AS ts,
             ${JSON.stringify(PROVIDERS).replaceAll('"', "'")}[(1 + hash(d.range) % ${PROVIDERS.length})::BIGINT] AS provider
        FROM range(${shape.days}) d CROSS JOIN (VALUES ${symbols}) s(symbol, i)
       WHERE hash(d.range, s.symbol) % 3 = 0
    )
    SELECT type || ':' || symbol || ':' || source || ':' || epoch_ms(ts) AS id, ts, type AS rule, type, symbol, source,
           1.5 AS value, 1.0 AS threshold, symbol || ' ' || type || ' passed its limit' AS message,
           ts + INTERVAL 1 SECOND AS raised_at
      FROM (SELECT *, CASE WHEN type = 'divergence' THEN provider ELSE 'composite' END AS source FROM raised)`;
}

/** About one gap per market every other day: a hole of 40 trade ids a venue's history could not return. */
function gapRowsSql(shape: BigLakeShape): string {
  const start = shape.end - shape.days * DAY_MS;
  const markets = MARKETS.map(([venue, market, symbol]) => `('${venue}', '${market}', '${symbol}')`).join(', ');
  return `
    SELECT venue || ':' || market || ':' || first_trade_id || '-' || (first_trade_id + 39) AS id, venue, market, symbol,
           first_trade_id, first_trade_id + 39 AS last_trade_id, 40 AS missing, from_ts, from_ts + INTERVAL 2 SECOND AS to_ts,
           ['reconnect', 'sequence', 'backpressure', 'restart'][(1 + hash(first_trade_id) % 4)::BIGINT] AS cause,
           'history does not go back that far' AS reason, from_ts + INTERVAL 30 SECOND AS detected_at
      FROM (
        SELECT m.venue, m.market, m.symbol, (d.range * 1000000 + hash(m.market, d.range) % 900000)::BIGINT AS first_trade_id,
               make_timestamp((${start} + d.range * ${DAY_MS} + hash(d.range, m.market) % ${DAY_MS})::BIGINT * 1000) AS from_ts
          FROM range(${shape.days}) d CROSS JOIN (VALUES ${markets}) m(venue, market, symbol)
         WHERE hash(m.market, d.range) % 2 = 0
      )`;
}

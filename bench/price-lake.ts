/**
 * The lake the query benchmarks read: `rows` synthetic prices of 8 symbols spread evenly over the
 * `days` before `end`, written through DuckLake the way the processor commits them: the rows and
 * their candle partials (every grain) in one transaction, into the tables `ensureLakeTables` declares
 * (partitioned by day, sorted by symbol and time, Snappy). A few big inserts instead of thousands
 * of small commits, so the lake is what maintenance leaves: each day in one or a few files.
 */
import { LAKE, sqlString } from '../core/adapters/ducklake/attach.ts';
import { LakeSession } from '../core/adapters/ducklake/session.ts';
import { ensureLakeTables, tableRef } from '../core/adapters/ducklake/tables.ts';
import type { LakeLocation } from '../core/adapters/select.ts';
import { rollupStatements } from '../core/adapters/ducklake/rollups.ts';
import { prices } from '../core/datasets/index.ts';

/** The symbols of the benchmark lakes. */
export const BENCH_SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP', 'ADA', 'DOGE', 'DOT', 'LTC'] as const;
const DAY_MS = 86_400_000;

/** How big a price lake is: about `rows` rows over the `days` days before `end` (epoch ms). */
export interface PriceLakeShape {
  rows: number;
  days: number;
  end: number;
}

/** What was built: rows, data files and bytes of `prices`, and the seconds it took. */
export interface BuiltLake {
  rows: number;
  files: number;
  bytes: number;
  seconds: number;
}

/**
 * The rows of a price lake as one SELECT with the columns of `prices`, those with `ts` in
 * [`fromMs`, `toMs`) when given: deterministic, so two lakes (or a lake and the one-file floor)
 * built from it hold the same rows. The id is the scraper's `source:SYMBOL:ts`; the volume grows,
 * so "the volume of the latest observation" is one value.
 */
export function priceRowsSql({ rows, days, end }: PriceLakeShape, fromMs = -Infinity, toMs = Infinity): string {
  const start = end - days * DAY_MS;
  const stepMs = Math.floor((days * DAY_MS * BENCH_SYMBOLS.length) / rows);
  const count = Math.ceil(rows / BENCH_SYMBOLS.length);
  // Row r of each symbol is at start + r * stepMs: the rows of a time range are a range of r.
  const first = Math.max(0, Math.ceil((fromMs - start) / stepMs));
  const last = Math.min(count, Math.ceil((toMs - start) / stepMs));
  return `
    SELECT 'synthetic:' || s.symbol || ':' || epoch_ms(t.ts) AS id, t.ts, s.symbol, 'synthetic' AS source,
           s.base * (1 + 0.2 * sin(r.range / 50000.0) + 0.01 * sin(r.range / 7.0)) AS price_usd,
           1e9::DOUBLE + r.range AS volume_24h_usd, NULL::DOUBLE AS market_cap_usd, 0.5::DOUBLE AS change_24h_pct,
           t.ts AS ingested_at
      FROM range(${first}, ${Math.max(first, last)}) r,
           (VALUES ${BENCH_SYMBOLS.map((s, i) => `('${s}', ${10 ** (4 - i / 2)})`).join(', ')}) s(symbol, base),
           LATERAL (SELECT make_timestamp((${start} + r.range * ${stepMs})::BIGINT * 1000) AS ts) t`;
}

/**
 * Builds the price lake at `location` (a new, empty lake): one commit per `daysPerCommit` days
 * (each holds the days' rows and their partials), so a commit stays within the writer's memory.
 */
export async function buildPriceLake(location: LakeLocation, shape: PriceLakeShape, daysPerCommit = 30): Promise<BuiltLake> {
  const started = performance.now();
  const session = await LakeSession.open(location, { readOnly: false, memoryLimit: '2GB', threads: 2 });
  try {
    const db = await session.connect();
    await ensureLakeTables(db);
    const columns = prices.columns.map(([name]) => name).join(', ');
    const start = shape.end - shape.days * DAY_MS;
    for (let from = start; from < shape.end; from += daysPerCommit * DAY_MS) {
      const to = Math.min(shape.end, from + daysPerCommit * DAY_MS);
      const slice = `(${priceRowsSql(shape, from, to)}) AS p`;
      const rollups = rollupStatements(prices, slice);
      for (const sql of rollups.prepare) await db.run(sql);
      await db.run('BEGIN');
      await db.run(`CALL ${LAKE}.set_commit_message('bench', ${sqlString(`bench prices ${new Date(from).toISOString().slice(0, 10)}`)})`);
      await db.run(`INSERT INTO ${tableRef(prices.name)} (${columns}) SELECT ${columns} FROM ${slice} ORDER BY symbol, ts`);
      for (const sql of rollups.inserts) await db.run(sql);
      await db.run('COMMIT');
      for (const sql of rollups.cleanup) await db.run(sql);
    }
    // A small lake's commits stay inlined in the catalog: written out, as maintenance would.
    await db.run(`CALL ducklake_flush_inlined_data(${sqlString(LAKE)})`);
    const [stats] = (
      await db.runAndReadAll(
        `SELECT (SELECT count(*) FROM ${tableRef(prices.name)})::DOUBLE AS rows, count(*)::DOUBLE AS files,
                coalesce(sum(data_file_size_bytes), 0)::DOUBLE AS bytes
           FROM ducklake_list_files(${sqlString(LAKE)}, ${sqlString(prices.name)})`,
      )
    ).getRowObjectsJS();
    return {
      rows: Number(stats!.rows),
      files: Number(stats!.files),
      bytes: Number(stats!.bytes),
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    };
  } finally {
    session.close();
  }
}

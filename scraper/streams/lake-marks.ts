import { existsSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { LAKE } from '../../core/adapters/ducklake/attach.ts';
import { LakeSession } from '../../core/adapters/ducklake/session.ts';
import type { LakeLocation } from '../../core/adapters/select.ts';
import { LakeError, messageOf } from '../../core/errors.ts';
import type { TradeMark } from './checkpoints.ts';
import type { MissingRun } from './sequence.ts';

/** What the lake holds of one market: its newest trade, and the runs of ids it misses before it (not in `trades`, not in `gaps`). */
export interface LakeMarket {
  newest: TradeMark;
  missing: MissingRun[];
}

/** One market of one venue, in the venue's names. */
export interface VenueMarket {
  venue: string;
  market: string;
}

/**
 * Reads from the lake, read-only, where each market's trades stand: the newest trade id in `trades`,
 * and the runs of ids between the trades of the last `lookbackMs` before it that are neither in
 * `trades` nor in a `gaps` record (what a crash took while it was being fetched back). A market
 * with no trade is left out, and so is every market when the lake has no catalog or no tables yet.
 * The answer is keyed `venue market`. Throws `QUERY_FAILED` when the lake cannot be read.
 */
export async function readLakeMarkets(
  lake: LakeLocation,
  markets: readonly VenueMarket[],
  lookbackMs: number,
): Promise<Map<string, LakeMarket>> {
  const found = new Map<string, LakeMarket>();
  if (markets.length === 0 || (lake.catalog.kind === 'sqlite' && !existsSync(lake.catalog.path))) return found;
  const session = await LakeSession.open(lake, { readOnly: true, threads: 1, memoryLimit: '256MB' });
  try {
    const db = await session.connect();
    await db.run(`USE ${LAKE}`);
    for (const { venue, market } of markets) {
      const newest = await newestTrade(db, venue, market, lookbackMs);
      if (!newest) continue;
      const holes = await holesBefore(db, venue, market, newest, lookbackMs);
      const recorded = holes.length === 0 ? [] : await gapRuns(db, venue, market, holes[0]!.first);
      found.set(marketKey(venue, market), { newest, missing: subtractRuns(holes, recorded) });
    }
    return found;
  } catch (cause) {
    // A lake whose tables were never created (no processor ran yet) has nothing to resume from.
    if (/Table with name \S+ does not exist/i.test(messageOf(cause))) return found;
    throw new LakeError('QUERY_FAILED', `reading where the lake's trades stand: ${messageOf(cause).split('\n')[0]}`, { cause });
  } finally {
    session.close();
  }
}

/** `binance BTCUSDT`: the key of a market in `readLakeMarkets`' answer. */
export function marketKey(venue: string, market: string): string {
  return `${venue} ${market}`;
}

type Rows = Record<string, unknown>[];

async function rows(db: DuckDBConnection, sql: string, params: Record<string, string | number>): Promise<Rows> {
  return (await db.runAndReadAll(sql, params)).getRowObjectsJS() as Rows;
}

/** The market's newest trade: looked for in the last `lookbackMs` first (few files), then in the whole table. */
async function newestTrade(db: DuckDBConnection, venue: string, market: string, lookbackMs: number): Promise<TradeMark | undefined> {
  const sql = (since: string) =>
    `SELECT max(trade_id)::DOUBLE AS id, epoch_ms(arg_max(ts, trade_id))::DOUBLE AS ts FROM trades
      WHERE venue = $venue AND market = $market ${since}`;
  const [recent] = await rows(db, sql('AND ts >= epoch_ms($since::BIGINT)'), { venue, market, since: Math.round(Date.now() - lookbackMs) });
  const [row] = recent?.id === null || recent === undefined ? await rows(db, sql(''), { venue, market }) : [recent];
  return row && row.id !== null ? { tradeId: Number(row.id), ts: Number(row.ts) } : undefined;
}

/** Runs of ids between consecutive trades of the `lookbackMs` before the newest one. */
async function holesBefore(
  db: DuckDBConnection,
  venue: string,
  market: string,
  newest: TradeMark,
  lookbackMs: number,
): Promise<MissingRun[]> {
  const found = await rows(
    db,
    `SELECT first, last, from_ts, to_ts FROM (
       SELECT (trade_id + 1)::DOUBLE AS first, (lead(trade_id) OVER w - 1)::DOUBLE AS last,
              epoch_ms(ts)::DOUBLE AS from_ts, epoch_ms(lead(ts) OVER w)::DOUBLE AS to_ts
         FROM trades
        WHERE venue = $venue AND market = $market AND ts >= epoch_ms($since::BIGINT)
       WINDOW w AS (ORDER BY trade_id))
      WHERE last >= first ORDER BY first`,
    { venue, market, since: Math.round(newest.ts - lookbackMs) },
  );
  return found.map((row) => ({ first: Number(row.first), last: Number(row.last), fromTs: Number(row.from_ts), toTs: Number(row.to_ts) }));
}

/** The id runs of the market's gap records that end at or after `from`. */
async function gapRuns(db: DuckDBConnection, venue: string, market: string, from: number): Promise<{ first: number; last: number }[]> {
  const found = await rows(
    db,
    `SELECT DISTINCT first_trade_id::DOUBLE AS first, last_trade_id::DOUBLE AS last FROM gaps
      WHERE venue = $venue AND market = $market AND last_trade_id >= $from::BIGINT ORDER BY first`,
    { venue, market, from },
  );
  return found.map((row) => ({ first: Number(row.first), last: Number(row.last) }));
}

/** What is left of `runs` once every id of `covered` is taken out (both sorted by `first` or not; runs keep their times). */
export function subtractRuns(runs: readonly MissingRun[], covered: readonly { first: number; last: number }[]): MissingRun[] {
  const sorted = [...covered].sort((a, b) => a.first - b.first);
  const left: MissingRun[] = [];
  for (const run of runs) {
    let start = run.first;
    for (const cover of sorted) {
      if (cover.last < start || cover.first > run.last) continue;
      if (cover.first > start) left.push({ ...run, first: start, last: cover.first - 1 });
      start = Math.max(start, cover.last + 1);
      if (start > run.last) break;
    }
    if (start <= run.last) left.push({ ...run, first: start });
  }
  return left;
}

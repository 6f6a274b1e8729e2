import { openAdapters, type LakeLocation } from '../../core/adapters/select.ts';
import { silentLogger } from '../../core/log.ts';
import { waitFor } from '../../core/testing/wait.ts';
import type { FakeTrade, FakeVenue } from '../../scraper/streams/venues/fake-venue.ts';
import { lakeReader } from './pipeline.ts';

const MINUTE = 60_000;

/** One market of the lake against its venue's own record, from the first trade the lake holds on. */
export interface MarketReport {
  venue: string;
  market: string;
  /** Trades the venue made from the lake's first one on. */
  made: number;
  /** Distinct trade ids in `trades`, and rows beyond one per id. */
  inLake: number;
  duplicates: number;
  /** Trades made, not in the lake, inside a gap record; and how many ids each gap cause holds. */
  inGaps: number;
  gapIds: Record<string, number>;
  /** Trades made, neither in the lake nor in a gap record (examples first). */
  lost: number[];
  /** Ids in the lake the venue never made. */
  madeUp: number[];
  /** Minutes whose `trade_candles_1m` row differs from the candle computed from the venue's trades, described. */
  candleMismatches: string[];
  /** Trades in the lake that came from REST history. */
  viaRest: number;
}

/** A 1-minute candle computed from trades: OHLC in trade-id order, summed volumes. */
export interface ComputedCandle {
  minute: number;
  open: number;
  high: number;
  low: number;
  close: number;
  trades: number;
  volume: number;
  quoteVolume: number;
  buyVolume: number;
}

/** The 1-minute candles of `trades` (in id order): what `trade_candles_1m` must hold for them. */
export function computeCandles(trades: readonly FakeTrade[]): ComputedCandle[] {
  const byMinute = new Map<number, FakeTrade[]>();
  for (const trade of trades) {
    const minute = Math.floor(trade.ts / MINUTE) * MINUTE;
    let list = byMinute.get(minute);
    if (!list) byMinute.set(minute, (list = []));
    list.push(trade);
  }
  return [...byMinute].map(([minute, list]) => ({
    minute,
    open: list[0]!.price,
    high: Math.max(...list.map((t) => t.price)),
    low: Math.min(...list.map((t) => t.price)),
    close: list.at(-1)!.price,
    trades: list.length,
    volume: list.reduce((sum, t) => sum + t.qty, 0),
    quoteVolume: list.reduce((sum, t) => sum + t.price * t.qty, 0),
    buyVolume: list.reduce((sum, t) => sum + (t.takerSide === 'buy' ? t.qty : 0), 0),
  }));
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

/**
 * Reads the lake through a fresh read-only DuckDB (as any client would) and compares, market by
 * market, `trades`, `gaps` and `trade_candles_1m` with what each venue made: every trade from the
 * lake's first one on must be in `trades` once or inside a gap record, and every minute's candle
 * must equal the one computed from the venue's trades that are not in a gap.
 */
export async function checkTradeLake(
  lake: LakeLocation,
  venues: Iterable<FakeVenue>,
  markets: (venue: string) => readonly string[],
): Promise<MarketReport[]> {
  const { db, close: closeReader } = await lakeReader(lake);
  const rows = async (sql: string, params: Record<string, string>) => (await db.runAndReadAll(sql, params)).getRowObjectsJS();
  const reports: MarketReport[] = [];
  try {
    for (const fake of venues) {
      for (const market of markets(fake.venue)) {
        const params = { venue: fake.venue, market };
        const lakeIds = await rows(
          `SELECT trade_id::DOUBLE AS id, count(*)::INTEGER AS n, count(*) FILTER (WHERE via = 'rest')::INTEGER AS rest
             FROM trades WHERE venue = $venue AND market = $market GROUP BY trade_id`,
          params,
        );
        const gaps = await rows(
          `SELECT DISTINCT first_trade_id::DOUBLE AS first, last_trade_id::DOUBLE AS last, cause FROM gaps WHERE venue = $venue AND market = $market`,
          params,
        );
        const lakeCandles = await rows(
          `SELECT epoch_ms(minute)::DOUBLE AS minute, open, high, low, close, trades::INTEGER AS trades, volume, quote_volume, buy_volume
             FROM trade_candles_1m WHERE venue = $venue AND market = $market ORDER BY minute`,
          params,
        );
        const got = new Map(lakeIds.map((row) => [Number(row.id), Number(row.n)]));
        const start = Math.min(...got.keys());
        const truth = fake.trades(market).filter((trade) => trade.tradeId >= start);
        const gapOf = (id: number) => gaps.find((gap) => Number(gap.first) <= id && id <= Number(gap.last));
        const gapIds: Record<string, number> = {};
        for (const gap of gaps) gapIds[String(gap.cause)] = (gapIds[String(gap.cause)] ?? 0) + Number(gap.last) - Number(gap.first) + 1;
        const lost: number[] = [];
        let inGaps = 0;
        for (const trade of truth) {
          if (got.has(trade.tradeId)) continue;
          if (gapOf(trade.tradeId)) inGaps += 1;
          else lost.push(trade.tradeId);
        }
        const made = new Set(truth.map((trade) => trade.tradeId));
        const expected = computeCandles(truth.filter((trade) => got.has(trade.tradeId)));
        const mismatches: string[] = [];
        if (expected.length !== lakeCandles.length)
          mismatches.push(`${lakeCandles.length} candles in the lake, ${expected.length} computed`);
        for (const [i, want] of expected.entries()) {
          const have = lakeCandles[i];
          const same =
            have !== undefined &&
            Number(have.minute) === want.minute &&
            Number(have.trades) === want.trades &&
            [
              [have.open, want.open],
              [have.high, want.high],
              [have.low, want.low],
              [have.close, want.close],
              [have.volume, want.volume],
              [have.quote_volume, want.quoteVolume],
              [have.buy_volume, want.buyVolume],
            ].every(([a, b]) => close(Number(a), Number(b)));
          if (!same)
            mismatches.push(`${new Date(want.minute).toISOString()}: lake ${JSON.stringify(have)}, computed ${JSON.stringify(want)}`);
        }
        reports.push({
          venue: fake.venue,
          market,
          made: truth.length,
          inLake: got.size,
          duplicates: [...got.values()].reduce((sum, n) => sum + n - 1, 0),
          inGaps,
          gapIds,
          lost,
          madeUp: [...got.keys()].filter((id) => !made.has(id)),
          candleMismatches: mismatches,
          viaRest: lakeIds.reduce((sum, row) => sum + Number(row.rest), 0),
        });
      }
    }
    return reports;
  } finally {
    closeReader();
  }
}

/** The lake the settings `env` name, as `openAdapters` finds it. */
export async function lakeOf(env: Record<string, string>): Promise<LakeLocation> {
  const adapters = await openAdapters(env, silentLogger);
  await adapters.close();
  return adapters.lake;
}

/** Each market's newest trade id, `venue market` to id. */
function lastIds(venues: Iterable<FakeVenue>, markets: (venue: string) => readonly string[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const fake of venues)
    for (const market of markets(fake.venue)) last.set(`${fake.venue} ${market}`, fake.trades(market).at(-1)?.tradeId ?? 0);
  return last;
}

/** Waits until every market of every venue has made `count` more trades than now (a deadline of 30 s). */
export async function tradesGoOn(
  venues: readonly FakeVenue[],
  markets: (venue: string) => readonly string[],
  count: number,
): Promise<void> {
  const before = lastIds(venues, markets);
  await waitFor(
    () => [...lastIds(venues, markets)].every(([market, id]) => id >= before.get(market)! + count),
    30_000,
    `${count} more trades per market`,
  );
}

/**
 * Stops trading, then makes one last trade per market: it closes any hole still open. Returns each
 * market's last trade id, the last one the lake must hold.
 */
export function closeTrading(venues: readonly FakeVenue[], markets: (venue: string) => readonly string[]): Map<string, number> {
  for (const venue of venues) venue.setRate(0);
  for (const venue of venues) for (const market of markets(venue.venue)) venue.emit(market, 1);
  return lastIds(venues, markets);
}

/**
 * True once the lake (read as any client reads it) holds each market's `last` trade id; when not,
 * answers after 250 ms, so that a `waitFor` on it opens a reader 4 times a second at most.
 */
export async function lakeReaches(lake: LakeLocation, last: Map<string, number>): Promise<boolean> {
  let found = new Map<string, number>();
  try {
    const { db, close } = await lakeReader(lake);
    try {
      const rows = (await db.runAndReadAll('SELECT venue, market, max(trade_id)::DOUBLE AS id FROM trades GROUP BY ALL')).getRowObjectsJS();
      found = new Map(rows.map((row) => [`${String(row.venue)} ${String(row.market)}`, Number(row.id)]));
    } finally {
      close();
    }
  } catch {
    // Nothing committed yet: no lake, or no trades table in it.
  }
  const reached = [...last].every(([market, id]) => (found.get(market) ?? 0) >= id);
  if (!reached) await new Promise((resolve) => setTimeout(resolve, 250));
  return reached;
}

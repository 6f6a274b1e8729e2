import type { DuckDBValue, JS } from '@duckdb/node-api';
import { aggregates, mergeRule, TRADE_CANDLE_GRAINS, tradeCandles1m } from '../core/datasets/index.ts';
import type { Venue } from '../core/records/trade.ts';
import { planPieces, piecesSql } from './candle-plan.ts';
import { CANDLE_INTERVALS, candlePrices, type CandleInterval, type LakeReader } from './queries.ts';

/** The partial columns a trade candle needs. */
const TRADE_CANDLE_COLUMNS = [
  'open',
  'open_trade_id',
  'high',
  'low',
  'close',
  'close_trade_id',
  'volume',
  'quote_volume',
  'buy_volume',
  'trades',
];

/** A trade candle from its partials of every piece, as the 1-minute trade rollup merges them. */
const TRADE_CANDLE = mergeRule(tradeCandles1m, ['open', 'high', 'low', 'close', 'volume', 'quote_volume', 'buy_volume', 'trades']);

const DAY_MS = 86_400_000;

/** One exchange trade as the API answers it. Times are epoch ms UTC. */
export interface TradeItem {
  id: string;
  ts: number;
  symbol: string;
  venue: string;
  market: string;
  price: number;
  qty: number;
  side: 'buy' | 'sell';
  tradeId: number;
  via: 'stream' | 'rest';
}

/** A market with trades in the last 24 hours: trade count, base-currency volume, newest trade time. */
export interface TradeMarket {
  venue: string;
  market: string;
  symbol: string;
  trades: number;
  volume: number;
  lastTs: number;
}

/**
 * One OHLCV bucket of exchange trades: `time` is the bucket start (epoch ms UTC); open and close
 * follow the venue's trade ids; volumes are sums (base currency, quote currency, taker buys).
 */
export interface TradeCandle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  quoteVolume: number;
  buyVolume: number;
  trades: number;
}

/** A run of trade ids the lake does not have, as the API answers it. */
export interface GapItem {
  id: string;
  venue: string;
  market: string;
  symbol: string;
  firstTradeId: number;
  lastTradeId: number;
  missing: number;
  fromTs: number;
  toTs: number;
  cause: string;
  reason: string;
  detectedAt: number;
}

/** Filters of the trade list. Without `from` and `to`, only the recent day folders are read. */
export interface TradeQuery {
  symbol?: string | undefined;
  venue?: Venue | undefined;
  market?: string | undefined;
  /** epoch ms, inclusive */
  from?: number | undefined;
  /** epoch ms, exclusive */
  to?: number | undefined;
  limit: number;
}

export interface TradeCandleQuery {
  venue: Venue;
  market: string;
  interval: CandleInterval;
  /** epoch ms, inclusive: minutes starting at or after it */
  from: number;
  /** epoch ms, exclusive */
  to: number;
}

export interface GapQuery {
  venue?: Venue | undefined;
  market?: string | undefined;
  /** epoch ms, inclusive, on the gap's `from_ts` */
  from?: number | undefined;
  /** epoch ms, exclusive */
  to?: number | undefined;
  limit: number;
}

/** The questions lake-query answers about exchange trades. Each gives empty results, not errors, on an empty lake. */
export interface TradeQueries {
  /** Newest first (trade time, then trade id), one row per id. `now` bounds the default look-back. */
  trades(query: TradeQuery, now: number): Promise<TradeItem[]>;
  /** Markets with trades in the 24 hours before `now`, most trades first, from the 1-minute rollups. */
  markets(now: number): Promise<TradeMarket[]>;
  /** Candles of one market from the 1-minute rollups, oldest first. */
  candles(query: TradeCandleQuery): Promise<TradeCandle[]>;
  /** Newest first (by `from_ts`), one row per id. */
  gaps(query: GapQuery): Promise<GapItem[]>;
}

/**
 * The trade queries over a `Lake`. User input reaches DuckDB only as bound parameters; time ranges
 * become conditions on the trade time, which DuckLake matches against the files' partitions and
 * statistics. The trade list without a range reads the last `recentDays` days (default 2): the
 * trades table is by far the largest, and "the newest trades" are there unless the streams
 * stopped long ago. Each trade id is in the lake once (the processor deduplicates at commit).
 */
export function createTradeQueries(lake: LakeReader, options: { recentDays?: number } = {}): TradeQueries {
  const recentMs = (options.recentDays ?? 2) * DAY_MS;

  return {
    async trades(query, now) {
      const where: string[] = [];
      const params: Record<string, DuckDBValue> = { limit: query.limit };
      filter(where, params, 'symbol', query.symbol);
      filter(where, params, 'venue', query.venue);
      filter(where, params, 'market', query.market);
      timeRange(where, params, 'ts', query.from ?? (query.to === undefined ? now - recentMs : undefined), query.to);
      const rows = await lake.query(
        'the trade list',
        `SELECT id, epoch_ms(ts)::DOUBLE AS ts, symbol, venue, market, price, qty, side, trade_id::DOUBLE AS trade_id, via
           FROM trades
          WHERE ${where.join(' AND ') || 'true'}
          ORDER BY ts DESC, trade_id DESC, id
          LIMIT $limit`,
        params,
      );
      return rows.map((row) => ({
        id: String(row.id),
        ts: num(row.ts),
        symbol: String(row.symbol),
        venue: String(row.venue),
        market: String(row.market),
        price: num(row.price),
        qty: num(row.qty),
        side: row.side === 'buy' ? 'buy' : 'sell',
        tradeId: num(row.trade_id),
        via: row.via === 'rest' ? 'rest' : 'stream',
      }));
    },

    async markets(now) {
      const rows = await lake.query(
        'the trade markets of the last 24 hours',
        `SELECT venue, market, symbol, sum(trades)::DOUBLE AS trades, sum(volume) AS volume, epoch_ms(max(last_ts))::DOUBLE AS last_ts
           FROM trade_candles_1m_partials
          WHERE minute >= epoch_ms($sinceMs::BIGINT)
          GROUP BY venue, market, symbol
          ORDER BY trades DESC, venue, market`,
        { sinceMs: now - DAY_MS },
      );
      return rows.map((row) => ({
        venue: String(row.venue),
        market: String(row.market),
        symbol: String(row.symbol),
        trades: num(row.trades),
        volume: num(row.volume),
        lastTs: num(row.last_ts),
      }));
    },

    async candles({ venue, market, interval, from, to }) {
      const widthMs = CANDLE_INTERVALS[interval];
      const params: Record<string, number | string> = { venue, market, intervalMs: widthMs };
      const pieces = planPieces(from, to, widthMs, TRADE_CANDLE_GRAINS);
      const spec = { finest: tradeCandles1m, where: ['venue = $venue', 'market = $market'], columns: TRADE_CANDLE_COLUMNS };
      // Buckets in epoch ms: every interval divides a day, so they start on UTC midnight as /api/candles' do.
      const rows = await lake.query(
        `trade candles for ${venue} ${market} (${interval})`,
        `WITH pieces AS (${piecesSql(pieces, spec, params)})
         SELECT (epoch_ms(t) // $intervalMs * $intervalMs)::DOUBLE AS time,
                ${aggregates(TRADE_CANDLE, ['open', 'high', 'low', 'close', 'volume', 'quote_volume', 'buy_volume'])},
                (${TRADE_CANDLE.trades})::DOUBLE AS trades
           FROM pieces
          GROUP BY 1
          ORDER BY 1`,
        params,
      );
      return rows.map((row) => ({
        ...candlePrices(row),
        volume: num(row.volume),
        quoteVolume: num(row.quote_volume),
        buyVolume: num(row.buy_volume),
        trades: num(row.trades),
      }));
    },

    async gaps(query) {
      const where: string[] = [];
      const params: Record<string, DuckDBValue> = { limit: query.limit };
      filter(where, params, 'venue', query.venue);
      filter(where, params, 'market', query.market);
      timeRange(where, params, 'from_ts', query.from, query.to);
      const rows = await lake.query(
        'the gap list',
        `SELECT id, venue, market, symbol, first_trade_id::DOUBLE AS first_trade_id, last_trade_id::DOUBLE AS last_trade_id,
                missing::DOUBLE AS missing, epoch_ms(from_ts)::DOUBLE AS from_ts, epoch_ms(to_ts)::DOUBLE AS to_ts,
                cause, reason, epoch_ms(detected_at)::DOUBLE AS detected_at
           FROM gaps
          ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY from_ts DESC, id
          LIMIT $limit`,
        params,
      );
      return rows.map((row) => ({
        id: String(row.id),
        venue: String(row.venue),
        market: String(row.market),
        symbol: String(row.symbol),
        firstTradeId: num(row.first_trade_id),
        lastTradeId: num(row.last_trade_id),
        missing: num(row.missing),
        fromTs: num(row.from_ts),
        toTs: num(row.to_ts),
        cause: String(row.cause),
        reason: String(row.reason),
        detectedAt: num(row.detected_at),
      }));
    },
  };
}

/** `column = $column` when a value is given. */
function filter(where: string[], params: Record<string, DuckDBValue>, column: string, value: string | undefined): void {
  if (value === undefined) return;
  where.push(`${column} = $${column}`);
  params[column] = value;
}

/** Conditions on a TIMESTAMP column for `from` (inclusive) .. `to` (exclusive). */
function timeRange(
  where: string[],
  params: Record<string, DuckDBValue>,
  column: string,
  from: number | undefined,
  to: number | undefined,
): void {
  if (from !== undefined) {
    where.push(`${column} >= epoch_ms($fromMs::BIGINT)`);
    params.fromMs = from;
  }
  if (to !== undefined) {
    where.push(`${column} < epoch_ms($toMs::BIGINT)`);
    params.toMs = to;
  }
}

function num(value: JS | undefined): number {
  return Number(value);
}

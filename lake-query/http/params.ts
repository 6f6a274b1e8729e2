import { z } from 'zod';
import { LakeError } from '../../core/errors.ts';
import { CANDLE_INTERVALS, type CandleInterval } from '../queries.ts';

/** Most candles one request may ask for; a wider range needs a wider interval. */
export const MAX_CANDLES = 50_000;
/** The range used when `from` is not given: the six hours before `to`. */
export const DEFAULT_RANGE_MS = 6 * 3_600_000;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const HAS_ZONE = /(Z|[+-]\d{2}:?\d{2})$/;

/** An ISO 8601 time (UTC unless it says otherwise) or epoch milliseconds, as epoch ms. */
const timeParam = z.string().transform((text, ctx) => {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  if (ISO_TIME.test(text)) {
    // A time of day without a zone is read as UTC, never as the server's local time.
    const ms = Date.parse(text.includes('T') && !HAS_ZONE.test(text) ? `${text}Z` : text);
    if (Number.isFinite(ms)) return ms;
  }
  ctx.addIssue({
    code: 'custom',
    message: `expected an ISO 8601 time such as 2026-03-02T10:00:00Z or epoch milliseconds, got "${text.slice(0, 40)}"`,
  });
  return z.NEVER;
});

const symbolParam = z
  .string({ error: 'required, e.g. symbol=BTC' })
  .regex(/^[A-Z0-9]{1,20}$/, 'expected an upper-case ticker of 1-20 letters or digits, such as BTC')
  .describe('upper-case ticker, e.g. BTC');
const intervalParam = z.enum(Object.keys(CANDLE_INTERVALS) as [CandleInterval, ...CandleInterval[]], {
  error: `expected one of ${Object.keys(CANDLE_INTERVALS).join(', ')}`,
});

/** A price source (provider) as records name it. */
const sourceParam = z
  .string()
  .regex(/^[a-z0-9-]{1,40}$/, 'expected a lower-case provider name such as coingecko or binance-stream')
  .optional()
  .describe("one source's own prices, e.g. binance; default: the composite, the median across sources");

/** Query parameters of `GET /api/candles`. */
export const candleParams = z.object({
  symbol: symbolParam,
  interval: intervalParam.default('1m').describe('candle width'),
  from: timeParam.optional().describe('ISO 8601 or epoch ms, inclusive; default: 6 hours before `to`'),
  to: timeParam.optional().describe('ISO 8601 or epoch ms, exclusive; default: now'),
  source: sourceParam,
});

/** Query parameters of `GET /api/indicators`. */
export const indicatorParams = z.object({
  symbol: symbolParam,
  interval: intervalParam.default('1h').describe('candle width of the averages and the volatility'),
  window: z.coerce
    .number({ error: 'expected a whole number from 2 to 1000' })
    .int('expected a whole number from 2 to 1000')
    .min(2, 'expected a whole number from 2 to 1000')
    .max(1_000, 'expected a whole number from 2 to 1000')
    .default(20)
    .describe('candles in the moving averages and the volatility'),
  at: timeParam.optional().describe('ISO 8601 or epoch ms the figures are computed at; default: now'),
  source: sourceParam,
});

/** Body of `POST /api/sql`. */
export const sqlBody = z.object({
  sql: z.string({ error: 'required: a SELECT or WITH query as a string' }).min(1, 'must not be empty').describe('one SELECT or WITH query'),
});

/**
 * The range of a candle request: `to` defaults to `now`, `from` to six hours before `to`; throws
 * `QUERY_INVALID` naming `from` when the range is empty or holds more than `MAX_CANDLES` candles.
 * Shared by every candle route, so they all read `interval`, `from` and `to` the same way.
 */
export function candleRange(
  parsed: { interval: CandleInterval; from?: number | undefined; to?: number | undefined },
  now: number,
): { interval: CandleInterval; from: number; to: number } {
  const { interval } = parsed;
  const to = parsed.to ?? now;
  const from = parsed.from ?? to - DEFAULT_RANGE_MS;
  if (!(from < to)) {
    throw new LakeError(
      'QUERY_INVALID',
      `from: must be before to (from ${new Date(from).toISOString()}, to ${new Date(to).toISOString()})`,
    );
  }
  const candles = Math.ceil((to - from) / CANDLE_INTERVALS[interval]);
  if (candles > MAX_CANDLES) {
    throw new LakeError(
      'QUERY_INVALID',
      `from: the range holds ${candles} ${interval} candles, at most ${MAX_CANDLES}; narrow from/to or pick a wider interval`,
    );
  }
  return { interval, from, to };
}

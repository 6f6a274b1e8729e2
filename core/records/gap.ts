import { z } from 'zod';
import { VENUES } from './trade.ts';

/**
 * A run of trades the lake does not have and could not get back: the trade ids a venue skipped
 * on our connection (a drop, a slow consumer, a skipped sequence) that its REST history did not
 * return either. Written to the `gaps` topic and dataset so a reader sees exactly what is missing
 * instead of a silent hole. The id is fixed by the range, so the same gap recorded twice is one row.
 */
export const Gap = z.object({
  id: z.string().min(1),
  venue: z.enum(VENUES),
  market: z.string().min(1).max(40),
  symbol: z.string().regex(/^[A-Z0-9]{1,20}$/, 'expected an upper-case ticker such as BTC'),
  /** The missing trade ids, both ends included. */
  first_trade_id: z.number().int().nonnegative(),
  last_trade_id: z.number().int().nonnegative(),
  missing: z.number().int().positive(),
  /** Times of the trades on either side of the hole (the hole lies between them), epoch ms UTC. */
  from_ts: z.number().int(),
  to_ts: z.number().int(),
  /**
   * What opened it: a dropped connection (`reconnect`), ids the venue skipped on a live connection
   * (`sequence`), a connection dropped because the bus fell behind (`backpressure`), or what traded
   * while no stream reader of this lake was running (`restart`).
   */
  cause: z.enum(['reconnect', 'sequence', 'backpressure', 'restart']),
  /** Why REST could not fill it, e.g. `history does not go back that far` or `HTTP 429`. */
  reason: z.string().min(1).max(500),
  detected_at: z.number().int(),
});
export type Gap = z.infer<typeof Gap>;

/** `binance:BTCUSDT:1001-1040`: the deterministic id of a gap. */
export function gapId(venue: string, market: string, firstTradeId: number, lastTradeId: number): string {
  return `${venue}:${market}:${firstTradeId}-${lastTradeId}`;
}

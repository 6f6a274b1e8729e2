import { z } from 'zod';
import { joinId, recordValidator } from './validator.ts';

/** The exchanges whose trade streams the scraper reads. */
export const VENUES = ['binance', 'coinbase', 'kraken'] as const;
export type Venue = (typeof VENUES)[number];

/**
 * One trade on an exchange: the contract between the stream readers, the `trades` topic and
 * dataset, the API and the dashboard. A venue numbers the trades of each market 1, 2, 3…, so the
 * id (venue, market, trade id) is the same whether the trade came over the stream or was fetched
 * back from the venue's REST history: a trade seen twice is one row.
 */
export const Trade = z.object({
  id: z.string().min(1),
  ts: z.number().int().describe('trade time, epoch ms UTC, as the venue stamped it'),
  symbol: z.string().regex(/^[A-Z0-9]{1,20}$/, 'expected an upper-case ticker such as BTC'),
  venue: z.enum(VENUES),
  /** The venue's name of the market: `BTCUSDT` (Binance), `BTC-USD` (Coinbase), `BTC/USD` (Kraken). */
  market: z.string().min(1).max(40),
  /** Price in the market's quote currency. */
  price: z.number().finite().positive(),
  /** Quantity in the base currency. */
  qty: z.number().finite().positive(),
  /** The taker's side: `buy` lifted an offer, `sell` hit a bid. */
  side: z.enum(['buy', 'sell']),
  trade_id: z.number().int().nonnegative(),
  /** How it reached the lake: live over the stream, or fetched back from REST history after a gap. */
  via: z.enum(['stream', 'rest']),
  ingested_at: z.number().int().describe('when the scraper received it, epoch ms UTC'),
});
export type Trade = z.infer<typeof Trade>;

/** The fields a trade's id is made of, in order, joined by `:` (`binance:BTCUSDT:12345`). */
export const TRADE_ID_PARTS = ['venue', 'market', 'trade_id'] as const satisfies readonly (keyof Trade)[];

/** `binance:BTCUSDT:12345`: the deterministic id of a trade. */
export function tradeId(venue: Venue, market: string, tradeNumber: number): string {
  return joinId([venue, market, tradeNumber]);
}

/** Validates anything as a trade; a failure says which field and why, in one line. */
export const validateTrade = recordValidator(Trade, TRADE_ID_PARTS);

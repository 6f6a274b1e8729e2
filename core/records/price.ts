import { z } from 'zod';
import { joinId, recordValidator } from './validator.ts';

/**
 * One price observation: the contract between the scraper, the bus, the processor and
 * the lake. Times are epoch milliseconds, UTC; the lake stores them as microsecond
 * timestamps. The id is deterministic, so the same observation always has the same id.
 */
export const PriceRecord = z.object({
  id: z.string().min(1),
  ts: z.number().int().describe('event time, epoch ms UTC, as the provider stamped it'),
  symbol: z.string().regex(/^[A-Z0-9]{1,20}$/, 'expected an upper-case ticker such as BTC'),
  source: z.string().regex(/^[a-z0-9-]{1,40}$/, 'expected a lower-case provider name'),
  price_usd: z.number().finite().positive(),
  volume_24h_usd: z.number().finite().nonnegative().nullable(),
  market_cap_usd: z.number().finite().nonnegative().nullable(),
  change_24h_pct: z.number().finite().nullable(),
  ingested_at: z.number().int().describe('when the scraper received it, epoch ms UTC'),
});
export type PriceRecord = z.infer<typeof PriceRecord>;

/** What a provider observed, before it is stamped with an id and an ingest time. */
export type PriceObservation = Omit<PriceRecord, 'id' | 'ingested_at' | 'volume_24h_usd' | 'market_cap_usd' | 'change_24h_pct'> &
  Partial<Pick<PriceRecord, 'volume_24h_usd' | 'market_cap_usd' | 'change_24h_pct'>>;

/** The fields a price's id is made of, in order, joined by `:` (`binance:BTC:1764000000000`). */
export const PRICE_ID_PARTS = ['source', 'symbol', 'ts'] as const satisfies readonly (keyof PriceRecord)[];

/** The deterministic id: the same source, symbol and event time always give the same id. */
export function priceId(source: string, symbol: string, ts: number): string {
  return joinId([source, symbol, ts]);
}

/** Stamps an observation into a record (not yet validated). */
export function toPriceRecord(observation: PriceObservation, ingestedAt: number): PriceRecord {
  return {
    id: priceId(observation.source, observation.symbol, observation.ts),
    ts: observation.ts,
    symbol: observation.symbol,
    source: observation.source,
    price_usd: observation.price_usd,
    volume_24h_usd: observation.volume_24h_usd ?? null,
    market_cap_usd: observation.market_cap_usd ?? null,
    change_24h_pct: observation.change_24h_pct ?? null,
    ingested_at: ingestedAt,
  };
}

/** Validates anything as a price record; a failure says which field and why, in one line. */
export const validatePrice = recordValidator(PriceRecord, PRICE_ID_PARTS);

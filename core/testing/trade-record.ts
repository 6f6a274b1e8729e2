import { tradeId, type Trade, type Venue } from '../records/trade.ts';

/**
 * A BTC trade record for tests, its `id` made from venue, market and the venue's trade id as the
 * scraper makes it. It came by stream and was ingested 30 ms after `ts`, unless `arrival` says otherwise.
 */
export function tradeRecord(
  venue: Venue,
  market: string,
  number: number,
  ts: number,
  price: number,
  qty: number,
  side: 'buy' | 'sell',
  arrival: { via?: Trade['via']; ingestDelayMs?: number } = {},
): Trade {
  return {
    id: tradeId(venue, market, number),
    ts,
    symbol: 'BTC',
    venue,
    market,
    price,
    qty,
    side,
    trade_id: number,
    via: arrival.via ?? 'stream',
    ingested_at: ts + (arrival.ingestDelayMs ?? 30),
  };
}

import { providerIds } from '../symbols.ts';
import { fixture } from './shared.ts';

/**
 * Documented provider responses (from `shared/reference/provider-responses/`) widened to the
 * symbols a test asks for: each builder clones the documented item once per symbol, changing
 * only the coin's id and, so tests can tell records apart, its price.
 */
export const bodies = {
  coingecko(symbols: string[], price = 70_187): object[] {
    const [coin] = JSON.parse(fixture('coingecko_coins_markets.json')) as Record<string, unknown>[];
    return symbols.map((symbol, i) => ({ ...coin, id: providerIds(symbol).coingecko, current_price: price + i }));
  },
  binance(symbols: string[], price = 4): object[] {
    const ticker = JSON.parse(fixture('binance_ticker_24hr_full_single.json')) as Record<string, unknown>;
    return symbols.map((symbol, i) => ({ ...ticker, symbol: providerIds(symbol).binance, lastPrice: String(price + i) }));
  },
  kraken(symbols: string[], price = 30_303.2): object {
    const body = JSON.parse(fixture('kraken_ticker.json')) as { error: string[]; result: Record<string, Record<string, unknown>> };
    const ticker = Object.values(body.result)[0]!;
    const result = Object.fromEntries(
      symbols.map((symbol, i) => [providerIds(symbol).kraken!.keys[0]!, { ...ticker, c: [String(price + i), '0.1'] }]),
    );
    return { error: [], result };
  },
  coincap(symbols: string[]): object {
    const body = JSON.parse(fixture('coincap_v3_asset_bitcoin.recorded_2026-04-06.json')) as { timestamp: number; data: object };
    return { timestamp: body.timestamp, data: symbols.map((symbol) => ({ ...body.data, id: providerIds(symbol).coincap })) };
  },
  coinmarketcap(): string {
    return fixture('coinmarketcap_quotes_latest_v2.json');
  },
  coinbaseTicker(): string {
    return fixture('coinbase_exchange_product_ticker.json');
  },
};

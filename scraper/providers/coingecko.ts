import { z } from 'zod';
import type { PriceProvider, ProviderResult } from '../../core/ports/provider.ts';
import { symbolsById } from '../symbols.ts';
import type { RequestPlan } from './plan.ts';
import { endpoint, getJson, isoTime, mapItems, numeric, parseEnvelope, type LiveProviderOptions } from './http.ts';

const Coin = z.object({
  id: z.string(),
  current_price: numeric.nullable(),
  total_volume: numeric.nullable().optional(),
  market_cap: numeric.nullable().optional(),
  price_change_percentage_24h: numeric.nullable().optional(),
  last_updated: isoTime,
});

/**
 * CoinGecko `/api/v3/coins/markets` (vs_currency=usd): one request for every symbol the table
 * has an id for. Event time is the coin's `last_updated`. A key goes in `x-cg-pro-api-key` on
 * the pro host and in `x-cg-demo-api-key` elsewhere; without a key the public limits apply.
 */
export class CoinGeckoProvider implements PriceProvider {
  readonly name = 'coingecko';
  readonly kind = 'live';

  constructor(private readonly options: LiveProviderOptions) {}

  /** The one request a fetch of `symbols` sends, costing one call. */
  plan(symbols: string[]): RequestPlan | undefined {
    const { url } = this.request(symbols);
    return url && { key: url.href, cost: 1 };
  }

  async fetch(symbols: string[], signal: AbortSignal): Promise<ProviderResult> {
    const { url, byId } = this.request(symbols);
    if (!url) return { observations: [], rejects: [] };
    const body = await getJson({ provider: this.name, url, headers: this.headers(), timeoutMs: this.options.timeoutMs, signal });
    const items = parseEnvelope(this.name, 'coins/markets', z.array(z.unknown()), body);
    return mapItems(items, Coin, (coin) => {
      const symbol = byId.get(coin.id);
      if (!symbol) return undefined;
      if (coin.current_price === null) return 'current_price: null';
      return {
        source: this.name,
        symbol,
        ts: coin.last_updated,
        price_usd: coin.current_price,
        volume_24h_usd: coin.total_volume ?? null,
        market_cap_usd: coin.market_cap ?? null,
        change_24h_pct: coin.price_change_percentage_24h ?? null,
      };
    });
  }

  private request(symbols: string[]): { url: URL | undefined; byId: Map<string, string> } {
    const byId = symbolsById(symbols, 'coingecko');
    if (byId.size === 0) return { url: undefined, byId };
    const url = endpoint(this.options.baseUrl, '/api/v3/coins/markets');
    url.searchParams.set('vs_currency', 'usd');
    url.searchParams.set('ids', [...byId.keys()].join(','));
    url.searchParams.set('per_page', '250');
    return { url, byId };
  }

  private headers(): Record<string, string> {
    const key = this.options.apiKey;
    if (!key) return {};
    const pro = new URL(this.options.baseUrl).hostname.startsWith('pro-api.');
    return pro ? { 'x-cg-pro-api-key': key } : { 'x-cg-demo-api-key': key };
  }
}

import { z } from 'zod';
import type { PriceProvider, ProviderResult } from '../../core/ports/provider.ts';
import { symbolsById } from '../symbols.ts';
import type { RequestPlan } from './plan.ts';
import { endpoint, getJson, mapItems, numeric, parseEnvelope, type LiveProviderOptions } from './http.ts';

const Asset = z.object({
  id: z.string(),
  priceUsd: numeric.nullable(),
  volumeUsd24Hr: numeric.nullable().optional(),
  marketCapUsd: numeric.nullable().optional(),
  changePercent24Hr: numeric.nullable().optional(),
});
const Envelope = z.object({ data: z.array(z.unknown()), timestamp: z.number().int() });

/**
 * CoinCap v3 `/v3/assets?ids=...` with `Authorization: Bearer <key>` (v2 is shut down). Numbers
 * come as strings. Assets carry no update time, so every record takes the response's top-level
 * `timestamp` (ms), which is when CoinCap answered.
 */
export class CoinCapProvider implements PriceProvider {
  readonly name = 'coincap';
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
    const headers: Record<string, string> = this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {};
    const body = await getJson({ provider: this.name, url, headers, timeoutMs: this.options.timeoutMs, signal });
    const envelope = parseEnvelope(this.name, 'v3/assets', Envelope, body);
    return mapItems(envelope.data, Asset, (asset) => {
      const symbol = byId.get(asset.id);
      if (!symbol) return undefined;
      if (asset.priceUsd === null) return 'priceUsd: null';
      return {
        source: this.name,
        symbol,
        ts: envelope.timestamp,
        price_usd: asset.priceUsd,
        volume_24h_usd: asset.volumeUsd24Hr ?? null,
        market_cap_usd: asset.marketCapUsd ?? null,
        change_24h_pct: asset.changePercent24Hr ?? null,
      };
    });
  }

  private request(symbols: string[]): { url: URL | undefined; byId: Map<string, string> } {
    const byId = symbolsById(symbols, 'coincap');
    if (byId.size === 0) return { url: undefined, byId };
    const url = endpoint(this.options.baseUrl, '/v3/assets');
    url.searchParams.set('ids', [...byId.keys()].join(','));
    return { url, byId };
  }
}

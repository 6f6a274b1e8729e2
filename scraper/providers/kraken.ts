import { z } from 'zod';
import type { PriceProvider, ProviderResult } from '../../core/ports/provider.ts';
import { providerIds } from '../symbols.ts';
import type { RequestPlan } from './plan.ts';
import { endpoint, getJson, mapItems, numeric, parseEnvelope, ProviderHttpError, type LiveProviderOptions } from './http.ts';

const Ticker = z.object({
  key: z.string(),
  c: z.tuple([numeric, numeric]).rest(z.unknown()),
  v: z.tuple([numeric, numeric]).optional(),
  p: z.tuple([numeric, numeric]).optional(),
});
const Envelope = z.object({ error: z.array(z.string()), result: z.record(z.string(), z.unknown()).optional() });
/** Kraken's error for a pair it does not know. */
const UNKNOWN_PAIR = 'EQuery:Unknown asset pair';

/**
 * Kraken `/0/public/Ticker?pair=XBTUSD,...`. Kraken reports errors in the `error` array with
 * HTTP 200, and names pairs its own way (`XXBTZUSD`), mapped back through the symbol table.
 * Its ticker carries no time, so the event time is the local clock when the answer arrived.
 * Volume is the rolling 24 h base volume times the 24 h VWAP, an estimate in USD. The 24 h
 * change is left empty: Kraken's `o` is today's UTC open, not the price 24 h ago. A request naming
 * one pair Kraken does not know is refused whole (`EQuery:Unknown asset pair`, without saying
 * which): that is thrown as an unlisted-symbol refusal, so the guard asks again without the culprit.
 */
export class KrakenProvider implements PriceProvider {
  readonly name = 'kraken';
  readonly kind = 'live';
  private readonly now: () => number;

  constructor(private readonly options: LiveProviderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The one request a fetch of `symbols` sends, costing one call. */
  plan(symbols: string[]): RequestPlan | undefined {
    const { url } = this.request(symbols);
    return url && { key: url.href, cost: 1 };
  }

  async fetch(symbols: string[], signal: AbortSignal): Promise<ProviderResult> {
    const { url, byKey } = this.request(symbols);
    if (!url) return { observations: [], rejects: [] };
    const body = await getJson({ provider: this.name, url, timeoutMs: this.options.timeoutMs, signal });
    const receivedAt = this.now();
    const envelope = parseEnvelope(this.name, 'Ticker', Envelope, body);
    const errors = envelope.error.filter((message) => message.startsWith('E'));
    if (errors.some((message) => message.startsWith(UNKNOWN_PAIR))) {
      throw new ProviderHttpError('PROVIDER_HTTP', `kraken Ticker answered error ${errors.join('; ')}`, { retryable: false, unlisted: [] });
    }
    if (errors.length > 0) throw krakenError(errors);
    if (!envelope.result)
      throw new ProviderHttpError('PROVIDER_RESPONSE_INVALID', `${this.name} Ticker: no result and no error`, { payload: body });
    const items = Object.entries(envelope.result).map(([key, value]) => ({ key, ...(value as object) }));
    return mapItems(items, Ticker, (ticker) => {
      const symbol = byKey.get(ticker.key);
      if (!symbol) return undefined;
      const volume = ticker.v && ticker.p ? ticker.v[1] * ticker.p[1] : null;
      return {
        source: this.name,
        symbol,
        ts: receivedAt,
        price_usd: ticker.c[0],
        volume_24h_usd: volume,
        market_cap_usd: null,
        change_24h_pct: null,
      };
    });
  }

  private request(symbols: string[]): { url: URL | undefined; byKey: Map<string, string> } {
    const byKey = new Map<string, string>();
    const pairs: string[] = [];
    for (const symbol of symbols) {
      const kraken = providerIds(symbol).kraken;
      if (!kraken) continue;
      pairs.push(kraken.pair);
      for (const key of [kraken.pair, ...kraken.keys]) byKey.set(key, symbol);
    }
    if (pairs.length === 0) return { url: undefined, byKey };
    const url = endpoint(this.options.baseUrl, '/0/public/Ticker');
    url.searchParams.set('pair', pairs.join(','));
    return { url, byKey };
  }
}

/** Kraken's `error` array as a `ProviderHttpError`: rate limits and service errors can be retried, the rest cannot. */
export function krakenError(errors: string[], what = 'Ticker'): ProviderHttpError {
  const message = `kraken ${what} answered error ${errors.join('; ')}`;
  if (errors.some((error) => /Rate limit|Temporary lockout|Too many requests/i.test(error))) {
    return new ProviderHttpError('PROVIDER_RATE_LIMITED', message);
  }
  if (errors.some((error) => error.startsWith('EService:'))) return new ProviderHttpError('PROVIDER_HTTP', message, { retryable: true });
  return new ProviderHttpError('PROVIDER_HTTP', message, { retryable: false });
}

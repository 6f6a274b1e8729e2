import { z } from 'zod';
import type { PriceProvider, ProviderResult } from '../../core/ports/provider.ts';
import { providerIds } from '../symbols.ts';
import type { RequestPlan } from './plan.ts';
import {
  endpoint,
  errorBody,
  getJson,
  isoTime,
  mapItems,
  numeric,
  parseEnvelope,
  ProviderHttpError,
  type LiveProviderOptions,
} from './http.ts';

const Coin = z.object({
  symbol: z.string(),
  cmc_rank: z.number().nullable().optional(),
  quote: z.object({
    USD: z.object({
      price: numeric.nullable(),
      volume_24h: numeric.nullable().optional(),
      market_cap: numeric.nullable().optional(),
      percent_change_24h: numeric.nullable().optional(),
      last_updated: isoTime,
    }),
  }),
});
const Status = z.object({ error_code: z.union([z.number(), z.string()]), error_message: z.string().nullable().optional() });
const Envelope = z.object({
  status: Status,
  // Listings give an array; quotes are keyed by id or, when asked by symbol, by symbol with an array per key.
  data: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]).optional(),
});
const RATE_LIMIT_CODES = new Set([1008, 1009, 1010, 1011]);

/**
 * CoinMarketCap `/v2/cryptocurrency/quotes/latest?symbol=...` with `X-CMC_PRO_API_KEY`. CMC can
 * answer HTTP 200 with an error in `status.error_code`, so that is checked on every answer.
 * When several coins share a ticker, the best-ranked one is taken. Event time is
 * `quote.USD.last_updated`. The listings endpoint's body (an array in `data`) maps the same way.
 * It asks with `skip_invalid=true`, so a ticker CMC does not know is left out of the answer rather
 * than failing the batch; should CMC still refuse a batch for naming them (HTTP 400, `Invalid value
 * for "symbol": "XYZ"`), that is an unlisted-symbol refusal naming them, asked again without them.
 */
export class CoinMarketCapProvider implements PriceProvider {
  readonly name = 'coinmarketcap';
  readonly kind = 'live';

  constructor(private readonly options: LiveProviderOptions) {}

  /** The one request a fetch of `symbols` sends, costing one call. */
  plan(symbols: string[]): RequestPlan | undefined {
    const { url } = this.request(symbols);
    return url && { key: url.href, cost: 1 };
  }

  async fetch(symbols: string[], signal: AbortSignal): Promise<ProviderResult> {
    const { url, wanted } = this.request(symbols);
    if (!url) return { observations: [], rejects: [] };
    const headers: Record<string, string> = this.options.apiKey ? { 'X-CMC_PRO_API_KEY': this.options.apiKey } : {};
    const body = await getJson({ provider: this.name, url, headers, timeoutMs: this.options.timeoutMs, signal }).catch((error: unknown) => {
      throw invalidSymbols(error, wanted) ?? error;
    });
    const envelope = parseEnvelope(this.name, 'quotes/latest', Envelope, body);
    const code = Number(envelope.status.error_code);
    if (code !== 0) {
      const message = `${this.name} quotes/latest answered error_code ${code}: ${envelope.status.error_message ?? ''}`;
      throw new ProviderHttpError(RATE_LIMIT_CODES.has(code) ? 'PROVIDER_RATE_LIMITED' : 'PROVIDER_HTTP', message, {
        retryable: RATE_LIMIT_CODES.has(code),
        unlisted: namedSymbols(envelope.status.error_message, wanted),
      });
    }
    const data = envelope.data ?? [];
    const entries = Array.isArray(data) ? data : Object.values(data);
    const items = entries.map((entry) => (Array.isArray(entry) ? bestRanked(entry) : entry)).filter((item) => item !== undefined);
    return mapItems(items, Coin, (coin) => {
      const symbol = wanted.get(coin.symbol.toUpperCase());
      if (!symbol) return undefined;
      const usd = coin.quote.USD;
      if (usd.price === null) return 'quote.USD.price: null';
      return {
        source: this.name,
        symbol,
        ts: usd.last_updated,
        price_usd: usd.price,
        volume_24h_usd: usd.volume_24h ?? null,
        market_cap_usd: usd.market_cap ?? null,
        change_24h_pct: usd.percent_change_24h ?? null,
      };
    });
  }

  private request(symbols: string[]): { url: URL | undefined; wanted: Map<string, string> } {
    const wanted = new Map(symbols.map((symbol) => [providerIds(symbol).coinmarketcap, symbol]));
    if (wanted.size === 0) return { url: undefined, wanted };
    const url = endpoint(this.options.baseUrl, '/v2/cryptocurrency/quotes/latest');
    url.searchParams.set('symbol', [...wanted.keys()].join(','));
    url.searchParams.set('convert', 'USD');
    url.searchParams.set('skip_invalid', 'true');
    return { url, wanted };
  }
}

function bestRanked(coins: unknown[]): unknown {
  const rank = (coin: unknown) => {
    const value = (coin as { cmc_rank?: unknown } | null)?.cmc_rank;
    return typeof value === 'number' ? value : Number.POSITIVE_INFINITY;
  };
  return [...coins].sort((a, b) => rank(a) - rank(b))[0];
}

/** The symbols of `Invalid value(s) for "symbol": "A,B"` that were asked, or `undefined` when the message names none. */
function namedSymbols(message: string | null | undefined, wanted: Map<string, string>): string[] | undefined {
  const listed = /Invalid values? for "symbol": "([^"]*)"/i.exec(message ?? '')?.[1];
  const named = (listed ?? '').split(',').flatMap((ticker) => wanted.get(ticker.trim().toUpperCase()) ?? []);
  return named.length > 0 ? named : undefined;
}

/** CMC's HTTP 400 whose status names invalid symbols, as an unlisted-symbol refusal naming them. */
function invalidSymbols(error: unknown, wanted: Map<string, string>): ProviderHttpError | undefined {
  const message = errorBody(error, 400, Envelope)?.status.error_message;
  const unlisted = namedSymbols(message, wanted);
  if (!unlisted) return undefined;
  return new ProviderHttpError('PROVIDER_HTTP', `coinmarketcap quotes/latest answered HTTP 400: ${message ?? ''}`, {
    status: 400,
    retryable: false,
    cause: error,
    unlisted,
  });
}

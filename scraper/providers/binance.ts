import { z } from 'zod';
import type { PriceProvider, ProviderResult } from '../../core/ports/provider.ts';
import { symbolsById } from '../symbols.ts';
import { binanceTickerWeight, type RequestPlan } from './plan.ts';
import { endpoint, errorBody, getJson, mapItems, numeric, parseEnvelope, ProviderHttpError, type LiveProviderOptions } from './http.ts';

const ErrorBody = z.object({ code: z.number(), msg: z.string() });
/** Binance's error code for a symbol it does not list. */
const INVALID_SYMBOL = -1121;

const Ticker = z.object({
  symbol: z.string(),
  lastPrice: numeric,
  quoteVolume: numeric.optional(),
  priceChangePercent: numeric.optional(),
  closeTime: z.number().int(),
});

/**
 * Binance spot `/api/v3/ticker/24hr?symbols=[...]`, USDT pairs, numbers as strings. The price is
 * in USDT, taken as USD; the 24 h volume is `quoteVolume` (USDT). Event time is `closeTime`, the
 * end of the rolling 24 h window. Binance has no market cap. A batch naming one pair Binance does
 * not list is refused whole (HTTP 400, code -1121 `Invalid symbol.`, without saying which): that
 * refusal is thrown as an unlisted-symbol refusal, so the guard asks again without the culprit.
 */
export class BinanceProvider implements PriceProvider {
  readonly name = 'binance';
  readonly kind = 'live';

  constructor(private readonly options: LiveProviderOptions) {}

  /** The one request a fetch of `symbols` sends, costing its documented request weight. */
  plan(symbols: string[]): RequestPlan | undefined {
    const { url, byPair } = this.request(symbols);
    return url && { key: url.href, cost: binanceTickerWeight(byPair.size) };
  }

  async fetch(symbols: string[], signal: AbortSignal): Promise<ProviderResult> {
    const { url, byPair } = this.request(symbols);
    if (!url) return { observations: [], rejects: [] };
    const body = await getJson({ provider: this.name, url, timeoutMs: this.options.timeoutMs, signal }).catch((error: unknown) => {
      throw invalidSymbol(error) ?? error;
    });
    const items = parseEnvelope(this.name, 'ticker/24hr', z.array(z.unknown()), body);
    return mapItems(items, Ticker, (ticker) => {
      const symbol = byPair.get(ticker.symbol);
      if (!symbol) return undefined;
      return {
        source: this.name,
        symbol,
        ts: ticker.closeTime,
        price_usd: ticker.lastPrice,
        volume_24h_usd: ticker.quoteVolume ?? null,
        market_cap_usd: null,
        change_24h_pct: ticker.priceChangePercent ?? null,
      };
    });
  }

  private request(symbols: string[]): { url: URL | undefined; byPair: Map<string, string> } {
    const byPair = symbolsById(symbols, 'binance');
    if (byPair.size === 0) return { url: undefined, byPair };
    const url = endpoint(this.options.baseUrl, '/api/v3/ticker/24hr');
    url.searchParams.set('symbols', JSON.stringify([...byPair.keys()]));
    return { url, byPair };
  }
}

/** Binance's HTTP 400 `{"code": -1121, "msg": "Invalid symbol."}` as an unlisted-symbol refusal (which pair, it does not say). */
function invalidSymbol(error: unknown): ProviderHttpError | undefined {
  const body = errorBody(error, 400, ErrorBody);
  if (body?.code !== INVALID_SYMBOL) return undefined;
  return new ProviderHttpError('PROVIDER_HTTP', `binance ticker/24hr answered HTTP 400 ${body.code} ${body.msg}`, {
    status: 400,
    retryable: false,
    cause: error,
    unlisted: [],
  });
}

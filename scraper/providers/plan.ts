import type { PriceProvider } from '../../core/ports/provider.ts';

/**
 * What a provider's `fetch` would send upstream for some symbols, known before sending it: a key
 * naming the request (the URLs with their queries, never an API key, which providers send only
 * in headers) and its cost in the provider's rate-limit unit (calls, or Binance request weight).
 * `undefined` means no request would be sent (the provider knows none of the symbols).
 */
export interface RequestPlan {
  key: string;
  cost: number;
}

/** A live provider that can say in advance what a fetch would send (every HTTP provider here). */
export interface PlannedProvider extends PriceProvider {
  plan(symbols: string[]): RequestPlan | undefined;
}

/** True when `provider` can plan its requests. */
export function isPlanned(provider: PriceProvider): provider is PlannedProvider {
  return typeof (provider as Partial<PlannedProvider>).plan === 'function';
}

/**
 * The plan of a provider that cannot plan: keyed by its name and the symbols asked, costing one
 * call. Keeps stubs and future providers under the same limits and cache.
 */
export function planOf(provider: PriceProvider, symbols: string[]): RequestPlan | undefined {
  if (isPlanned(provider)) return provider.plan(symbols);
  return symbols.length === 0 ? undefined : { key: `${provider.name}:${[...symbols].sort().join(',')}`, cost: 1 };
}

/** Binance `/api/v3/ticker/24hr` request weight for `symbols` pairs: 2 up to 20, 40 up to 100, 80 above. */
export function binanceTickerWeight(symbols: number): number {
  if (symbols <= 20) return 2;
  if (symbols <= 100) return 40;
  return 80;
}

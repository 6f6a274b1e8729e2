import { z } from 'zod';
import type { PriceObservation } from '../../core/records/price.ts';
import type { PriceProvider, ProviderResult } from '../../core/ports/provider.ts';
import { describeIssues } from '../../core/records/validator.ts';
import { providerIds } from '../symbols.ts';
import type { RequestPlan } from './plan.ts';
import { endpoint, getJson, isoTime, numeric, type LiveProviderOptions } from './http.ts';

const Ticker = z.object({ price: numeric, volume: numeric.optional(), time: isoTime });
const Stats = z.object({ open: numeric, volume: numeric.optional() });

/**
 * Coinbase Exchange `/products/<SYM>-USD/ticker`, one request per symbol, with `/stats` beside it
 * for the 24 h open (hence the change). Event time is the ticker's `time`. Volumes are in the base
 * coin and are turned into USD at the last price. A failed `/stats` only drops the change; a
 * symbol whose ticker fails is not served; the provider fails only when every ticker failed.
 */
export class CoinbaseProvider implements PriceProvider {
  readonly name = 'coinbase';
  readonly kind = 'live';

  constructor(private readonly options: LiveProviderOptions) {}

  /** The requests a fetch of `symbols` sends: a ticker and a stats call per symbol, two calls each. */
  plan(symbols: string[]): RequestPlan | undefined {
    if (symbols.length === 0) return undefined;
    const products = symbols.map((symbol) => providerIds(symbol).coinbase).join(',');
    return { key: `${endpoint(this.options.baseUrl, '/products/').href}{${products}}/ticker+stats`, cost: 2 * symbols.length };
  }

  async fetch(symbols: string[], signal: AbortSignal): Promise<ProviderResult> {
    const result: ProviderResult = { observations: [], rejects: [] };
    if (symbols.length === 0) return result;
    const outcomes = await Promise.allSettled(symbols.map((symbol) => this.fetchOne(symbol, signal)));
    const failures: unknown[] = [];
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') failures.push(outcome.reason);
      else if ('reason' in outcome.value) result.rejects.push(outcome.value);
      else result.observations.push(outcome.value);
    }
    if (failures.length === symbols.length) throw failures[0];
    return result;
  }

  private async fetchOne(symbol: string, signal: AbortSignal): Promise<PriceObservation | { payload: unknown; reason: string }> {
    const product = providerIds(symbol).coinbase;
    const get = (path: string) =>
      getJson({
        provider: this.name,
        url: endpoint(this.options.baseUrl, `/products/${product}${path}`),
        timeoutMs: this.options.timeoutMs,
        signal,
      });
    const [tickerBody, statsBody] = await Promise.all([get('/ticker'), get('/stats').catch(() => undefined)]);
    const ticker = Ticker.safeParse(tickerBody);
    if (!ticker.success) return { payload: tickerBody, reason: `${product} ticker: ${describeIssues(ticker.error)}` };
    const stats = Stats.safeParse(statsBody);
    const { price, volume, time } = ticker.data;
    const open = stats.success ? stats.data.open : undefined;
    return {
      source: this.name,
      symbol,
      ts: time,
      price_usd: price,
      volume_24h_usd: volume === undefined ? null : volume * price,
      market_cap_usd: null,
      change_24h_pct: open ? ((price - open) / open) * 100 : null,
    };
  }
}

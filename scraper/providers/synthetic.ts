import type { PriceObservation } from '../../core/records/price.ts';
import type { PriceProvider, ProviderResult } from '../../core/ports/provider.ts';
import { seededRandom } from '../seeded-random.ts';
import { SyntheticWorld, type SyntheticSource } from '../synthetic-world.ts';

const DAY_MS = 86_400_000;
/** Daily turnover as a share of market cap, a typical figure for large coins. */
const TURNOVER = 0.04;

/** Options of the synthetic provider: the made-up market it quotes (or a seed for one of its own) and its clock. */
export interface SyntheticOptions {
  seed: number;
  /** The world to quote, shared with the demo venues so they trade the same walk. Default: a world of its own from `seed`. */
  world?: SyntheticWorld;
  now?: () => number;
}

/**
 * Made-up prices for demos and tests: the `synthetic` source of a `SyntheticWorld`, one seeded
 * random walk per symbol from a plausible start (BTC ~90 000, ETH ~3 000, ...) that the demo
 * venues trade too. Each fetch quotes every symbol at the injected clock's now (the event time),
 * so a given seed and clock always give the same prices. The 24 h change is counted from the
 * first price of the current simulated day.
 */
export class SyntheticProvider implements PriceProvider {
  readonly name = 'synthetic';
  readonly kind = 'synthetic';
  private readonly world: SyntheticWorld;
  private readonly quotes: SyntheticSource;
  private readonly days = new Map<string, { open: number; start: number }>();
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(options: SyntheticOptions) {
    this.world = options.world ?? new SyntheticWorld(options.seed);
    this.quotes = this.world.source(this.name);
    this.random = seededRandom(options.seed);
    this.now = options.now ?? Date.now;
  }

  async fetch(symbols: string[], signal: AbortSignal): Promise<ProviderResult> {
    signal.throwIfAborted();
    const ts = this.now();
    return { observations: symbols.map((symbol) => this.observe(symbol, ts)), rejects: [] };
  }

  private observe(symbol: string, ts: number): PriceObservation {
    const price = this.quotes.price(symbol, ts);
    const day = this.dayOf(symbol, price, ts);
    const marketCap = price * this.world.coin(symbol).supply;
    return {
      source: this.name,
      symbol,
      ts,
      price_usd: round(price),
      volume_24h_usd: Math.round(marketCap * TURNOVER * (0.6 + 0.8 * this.random())),
      market_cap_usd: Math.round(marketCap),
      change_24h_pct: Math.round(((price - day.open) / day.open) * 1e6) / 1e4,
    };
  }

  private dayOf(symbol: string, price: number, ts: number): { open: number; start: number } {
    const day = this.days.get(symbol);
    if (day && ts - day.start < DAY_MS) return day;
    const next = { open: price, start: ts };
    this.days.set(symbol, next);
    return next;
  }
}

/** Six significant digits is what exchanges quote; it keeps records readable. */
function round(price: number): number {
  return Number(price.toPrecision(6));
}

import type { PriceObservation } from '../../core/records/price.ts';
import type { PriceProvider, ProviderResult } from '../../core/ports/provider.ts';
import { hashText, seededRandom } from '../seeded-random.ts';

/** Where each known coin starts, with its yearly volatility, 24 h volume share and supply. */
const STARTS: Record<string, { price: number; volatility: number; supply: number }> = {
  BTC: { price: 90_000, volatility: 0.55, supply: 19_800_000 },
  ETH: { price: 3_000, volatility: 0.7, supply: 120_500_000 },
  SOL: { price: 150, volatility: 0.9, supply: 480_000_000 },
  XRP: { price: 2.2, volatility: 0.85, supply: 57_000_000_000 },
  ADA: { price: 0.7, volatility: 0.9, supply: 35_500_000_000 },
  DOGE: { price: 0.2, volatility: 1, supply: 148_000_000_000 },
  LTC: { price: 95, volatility: 0.8, supply: 75_000_000 },
  DOT: { price: 6, volatility: 0.9, supply: 1_500_000_000 },
  BNB: { price: 650, volatility: 0.6, supply: 145_000_000 },
  LINK: { price: 18, volatility: 0.9, supply: 630_000_000 },
};
const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;
/** Daily turnover as a share of market cap, a typical figure for large coins. */
const TURNOVER = 0.04;

interface Walk {
  price: number;
  volatility: number;
  supply: number;
  /** Price at the start of the current simulated day, for the 24 h change. */
  dayOpen: number;
  dayStart: number;
  lastTs: number;
}

/** Options of the synthetic provider: the seed and the clock that stamps each observation. */
export interface SyntheticOptions {
  seed: number;
  now?: () => number;
}

/**
 * Made-up prices for demos and tests: a geometric random walk per symbol from a plausible start
 * (BTC ~90 000, ETH ~3 000, ...; other symbols get a start drawn from the seed). Each call moves
 * every symbol by the time elapsed on the injected clock (at least one second), so a given seed
 * and clock always give the same prices. Event time is the clock's now.
 */
export class SyntheticProvider implements PriceProvider {
  readonly name = 'synthetic';
  readonly kind = 'synthetic';
  private readonly walks = new Map<string, Walk>();
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly options: SyntheticOptions) {
    this.random = seededRandom(options.seed);
    this.now = options.now ?? Date.now;
  }

  async fetch(symbols: string[], signal: AbortSignal): Promise<ProviderResult> {
    signal.throwIfAborted();
    const ts = this.now();
    return { observations: symbols.map((symbol) => this.step(symbol, ts)), rejects: [] };
  }

  private step(symbol: string, ts: number): PriceObservation {
    const walk = this.walks.get(symbol) ?? this.start(symbol, ts);
    const dt = Math.max(1_000, ts - walk.lastTs) / YEAR_MS;
    // Geometric Brownian motion without drift: the log price moves by sigma * sqrt(dt) * N(0,1).
    walk.price *= Math.exp(-0.5 * walk.volatility ** 2 * dt + walk.volatility * Math.sqrt(dt) * this.gaussian());
    walk.lastTs = ts;
    if (ts - walk.dayStart >= DAY_MS) {
      walk.dayOpen = walk.price;
      walk.dayStart = ts;
    }
    const marketCap = walk.price * walk.supply;
    return {
      source: this.name,
      symbol,
      ts,
      price_usd: round(walk.price),
      volume_24h_usd: Math.round(marketCap * TURNOVER * (0.6 + 0.8 * this.random())),
      market_cap_usd: Math.round(marketCap),
      change_24h_pct: Math.round(((walk.price - walk.dayOpen) / walk.dayOpen) * 1e6) / 1e4,
    };
  }

  private start(symbol: string, ts: number): Walk {
    const known = STARTS[symbol];
    // Unknown coins start between $0.01 and $1 000, drawn from the seed and the symbol.
    const drawn = 10 ** (-2 + 5 * seededRandom(this.options.seed ^ hashText(symbol))());
    const start = known ?? { price: drawn, volatility: 0.9, supply: 1_000_000_000 };
    const price = start.price * (1 + 0.02 * (this.random() - 0.5));
    const walk = { ...start, price, dayOpen: price, dayStart: ts, lastTs: ts };
    this.walks.set(symbol, walk);
    return walk;
  }

  private gaussian(): number {
    const u = Math.max(this.random(), Number.EPSILON);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
  }
}

/** Six significant digits is what exchanges quote; it keeps records readable. */
function round(price: number): number {
  return Number(price.toPrecision(6));
}

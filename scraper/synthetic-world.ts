import { hashText, seededRandom } from './seeded-random.ts';

/** What a made-up coin is: where its walk starts, how much it moves in a year, how many coins exist. */
export interface CoinFacts {
  start: number;
  /** Yearly volatility of the log price (0.55 = 55 %). */
  volatility: number;
  supply: number;
}

/** The known coins, at plausible prices; any other symbol gets a start drawn from the seed. */
const COINS: Record<string, CoinFacts> = {
  BTC: { start: 90_000, volatility: 0.55, supply: 19_800_000 },
  ETH: { start: 3_000, volatility: 0.7, supply: 120_500_000 },
  SOL: { start: 150, volatility: 0.9, supply: 480_000_000 },
  XRP: { start: 2.2, volatility: 0.85, supply: 57_000_000_000 },
  ADA: { start: 0.7, volatility: 0.9, supply: 35_500_000_000 },
  DOGE: { start: 0.2, volatility: 1, supply: 148_000_000_000 },
  LTC: { start: 95, volatility: 0.8, supply: 75_000_000 },
  DOT: { start: 6, volatility: 0.9, supply: 1_500_000_000 },
  BNB: { start: 650, volatility: 0.6, supply: 145_000_000 },
  LINK: { start: 18, volatility: 0.9, supply: 630_000_000 },
};

const YEAR_MS = 365 * 86_400_000;
/** The walk moves once a second; prices between two steps are interpolated. */
const STEP_MS = 1_000;
/** Steps kept behind the newest, so a source asking a little late gets the same answer. */
const KEEP_STEPS = 3_600;
/** A longer jump of the clock is walked in one step of the same variance. */
const MAX_STEPS = 86_400;
/** Each source's own deviation from the walk: a lasting basis, a slow wander and a tick of noise. */
const BASIS_MAX = 5e-4;
const WANDER_SIGMA = 3e-4;
const WANDER_HALF_LIFE_MS = 20_000;
const TICK_SIGMA = 1e-4;

/** A normal draw (Box-Muller) from a uniform generator. */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** One coin's fair value: a driftless geometric random walk on a one-second grid, extended on demand. */
class Walk {
  private readonly random: () => number;
  private readonly sigmaPerStep: number;
  /** Grid time of `logs[0]`, epoch ms. */
  private origin: number;
  private logs: number[];

  constructor(facts: CoinFacts, seed: number, ts: number) {
    this.random = seededRandom(seed);
    this.sigmaPerStep = facts.volatility * Math.sqrt(STEP_MS / YEAR_MS);
    this.origin = Math.floor(ts / STEP_MS) * STEP_MS;
    this.logs = [Math.log(facts.start * (1 + 0.02 * (this.random() - 0.5)))];
  }

  /** The fair price at `ts`; a time before the kept path gets its oldest price. */
  at(ts: number): number {
    this.extendPast(ts);
    const position = Math.min(Math.max(0, (ts - this.origin) / STEP_MS), this.logs.length - 1);
    const below = Math.floor(position);
    const low = this.logs[below] as number;
    const high = this.logs[Math.min(below + 1, this.logs.length - 1)] as number;
    return Math.exp(low + (high - low) * (position - below));
  }

  /** Walks on until the grid holds a point after `ts`, then forgets what is older than `KEEP_STEPS`. */
  private extendPast(ts: number): void {
    const index = Math.floor((ts - this.origin) / STEP_MS) + 1;
    let missing = index - (this.logs.length - 1);
    if (missing <= 0) return;
    if (missing > MAX_STEPS) {
      // A long jump of the clock: one step of the whole variance, and the path restarts just before `ts`.
      this.logs = [(this.logs.at(-1) as number) + this.step(missing - 1)];
      this.origin += (index - 1) * STEP_MS;
      missing = 1;
    }
    for (let i = 0; i < missing; i++) this.logs.push((this.logs.at(-1) as number) + this.step(1));
    if (this.logs.length > 2 * KEEP_STEPS) {
      const drop = this.logs.length - KEEP_STEPS;
      this.logs.splice(0, drop);
      this.origin += drop * STEP_MS;
    }
  }

  /** The move of the log price over `steps` steps (Ito-corrected, so the price itself has no drift). */
  private step(steps: number): number {
    const sigma = this.sigmaPerStep * Math.sqrt(steps);
    return -0.5 * sigma * sigma + sigma * gaussian(this.random);
  }
}

/** How one made-up source sees one coin: the walk plus its own basis and noise. */
class View {
  private readonly random: () => number;
  private readonly basis: number;
  private wander = 0;
  private lastTs: number | undefined;

  constructor(seed: number) {
    this.random = seededRandom(seed);
    this.basis = BASIS_MAX * (2 * this.random() - 1);
  }

  /** The source's price at `ts` given the fair price: asked again at the same time, only the tick noise differs. */
  price(fair: number, ts: number): number {
    const elapsed = this.lastTs === undefined ? Number.POSITIVE_INFINITY : Math.max(0, ts - this.lastTs);
    this.lastTs = Math.max(ts, this.lastTs ?? ts);
    // An Ornstein-Uhlenbeck wander: correlated over seconds, never far from the basis.
    const keep = Math.exp((-elapsed * Math.LN2) / WANDER_HALF_LIFE_MS);
    this.wander = this.wander * keep + WANDER_SIGMA * Math.sqrt(1 - keep * keep) * gaussian(this.random);
    return fair * Math.exp(this.basis + this.wander + TICK_SIGMA * gaussian(this.random));
  }
}

/** One made-up source's prices: the world's walk as that source quotes it. */
export interface SyntheticSource {
  readonly name: string;
  /** The price `name` quotes for `symbol` at `ts` (epoch ms): within a few basis points of the world's fair price. */
  price(symbol: string, ts: number): number;
}

/**
 * The one made-up market every synthetic source quotes: one seeded random walk per coin (a
 * geometric walk from a plausible start: BTC near 90 000, ETH near 3 000; other symbols from the
 * seed), and per source and coin a small lasting basis (up to 5 basis points), a slow wander and
 * a tick of noise, so the synthetic provider and the demo venues differ as real sources do
 * (a few basis points) but never tell two stories. The walk starts at the first time a coin is
 * asked about and moves once a second of the times asked (any clock: real or a test's), so a seed
 * and the same questions give the same prices. Not safe across processes: share one instance.
 */
export class SyntheticWorld {
  private readonly walks = new Map<string, Walk>();
  private readonly views = new Map<string, View>();

  constructor(readonly seed: number) {}

  /** The facts of `symbol`: the table's, or for an unknown coin a start between $0.01 and $1 000 drawn from the seed. */
  coin(symbol: string): CoinFacts {
    const known = COINS[symbol];
    if (known) return known;
    const drawn = 10 ** (-2 + 5 * seededRandom(this.seed ^ hashText(symbol))());
    return { start: drawn, volatility: 0.9, supply: 1_000_000_000 };
  }

  /** The fair price of `symbol` at `ts` (epoch ms): the walk itself, without any source's basis. */
  fairPrice(symbol: string, ts: number): number {
    let walk = this.walks.get(symbol);
    if (!walk) {
      walk = new Walk(this.coin(symbol), this.seed ^ hashText(`walk:${symbol}`), ts);
      this.walks.set(symbol, walk);
    }
    return walk.at(ts);
  }

  /** The prices of the source called `name` (`synthetic`, `binance`, ...): its own basis and noise over the one walk. */
  source(name: string): SyntheticSource {
    return {
      name,
      price: (symbol, ts) => {
        const key = `${name}:${symbol}`;
        let view = this.views.get(key);
        if (!view) {
          view = new View(this.seed ^ hashText(`view:${key}`));
          this.views.set(key, view);
        }
        return view.price(this.fairPrice(symbol, ts), ts);
      },
    };
  }
}

import type { Cache } from '../../core/ports/cache.ts';

/**
 * How far one market's trades have reached the bus: every trade id up to `tradeId` was published
 * (or recorded in a gap); `ts` is the time of that trade or earlier (REST history paged by time
 * starts from it).
 */
export interface TradeMark {
  tradeId: number;
  ts: number;
}

/** How long a replica's mark is kept after its last update: a week, longer than any outage worth refilling. */
const MARK_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Each market's trade mark in the shared cache, one field per replica in the map
 * `streams:mark:<trades topic>:<venue>:<market>`, so that replicas never overwrite one another's
 * progress and a reader takes the furthest. Every mark is a fact (everything up to it reached the
 * bus), so the furthest of them, a dead replica's included, is where any replica may resume. A cache
 * failure reads as "unknown" and a failed save is tried again at the next one.
 */
export class StreamCheckpoints {
  constructor(
    private readonly cache: Pick<Cache, 'setField' | 'fields'>,
    /** This replica's field name. */
    private readonly instance: string,
    /** The trades topic the marks are about: a mark says what reached this topic. */
    private readonly topic: string,
  ) {}

  /** Records that every trade of `market` up to `mark` reached the bus, as this replica's mark. */
  async save(venue: string, market: string, mark: TradeMark): Promise<void> {
    await this.cache.setField(this.key(venue, market), this.instance, JSON.stringify(mark), MARK_TTL_SECONDS);
  }

  /** The furthest mark any replica saved for `market`, or `undefined` when none did (or the cache cannot say). */
  async load(venue: string, market: string): Promise<TradeMark | undefined> {
    const fields = await this.cache.fields(this.key(venue, market)).catch(() => ({}) as Record<string, string>);
    let furthest: TradeMark | undefined;
    for (const text of Object.values(fields)) {
      const mark = parseMark(text);
      if (mark && (!furthest || mark.tradeId > furthest.tradeId)) furthest = mark;
    }
    return furthest;
  }

  private key(venue: string, market: string): string {
    return `streams:mark:${this.topic}:${venue}:${market}`;
  }
}

function parseMark(text: string): TradeMark | undefined {
  try {
    const value = JSON.parse(text) as Partial<TradeMark>;
    return Number.isSafeInteger(value.tradeId) && Number.isFinite(value.ts) ? { tradeId: value.tradeId!, ts: value.ts! } : undefined;
  } catch {
    return undefined;
  }
}

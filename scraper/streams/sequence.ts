import type { Gap } from '../../core/records/gap.ts';

/** A run of trade ids not seen yet, both ends included, with the times of the trades around it. */
export interface Hole {
  first: number;
  last: number;
  /** Time of the trade just before the hole and of the one just after, epoch ms. */
  fromTs: number;
  toTs: number;
  /** When it was noticed, epoch ms: late (out-of-order) trades may still fill it for a while. */
  openedAt: number;
  cause: Gap['cause'];
}

/** A run of trade ids missing from the lake, both ends included, with the times of the trades around it. */
export type MissingRun = Pick<Hole, 'first' | 'last' | 'fromTs' | 'toTs'>;

/** What `accept` decided about a trade id. */
export type Verdict = 'new' | 'late' | 'duplicate';

/** Most holes one market keeps open; past it the oldest is handed over at once. */
const MAX_HOLES = 10_000;

/**
 * The trade ids of one market, which the venue numbers 1, 2, 3…: says whether a trade is new, a
 * late arrival that fills a hole, or a duplicate, and keeps the holes (ids skipped) until they are
 * taken for a REST refill. Memory is the next expected id plus the open holes, whatever the volume.
 */
export class TradeSequence {
  private next: number | undefined;
  private lastTs = 0;
  private holes: Hole[] = [];
  /** The cause given to the next hole found (set when a connection drops or is dropped). */
  private pendingCause: Gap['cause'] | undefined;

  /**
   * Starts after `start.mark` when it is known (where the last run left the market), so that a
   * restart notices what traded meanwhile: the first hole found is blamed on `restart`, and
   * `start.holes` (runs missing before the mark) are open from the outset, opened at `start.at`.
   */
  constructor(start?: { mark: { tradeId: number; ts: number }; holes?: readonly MissingRun[]; at?: number }) {
    if (start) {
      this.next = start.mark.tradeId + 1;
      this.lastTs = start.mark.ts;
      this.pendingCause = 'restart';
      for (const run of start.holes ?? []) {
        if (run.last >= this.next) continue;
        this.holes.push({ ...run, openedAt: start.at ?? 0, cause: 'restart' });
      }
    }
  }

  /** The id and time of the newest trade accepted, if any. */
  get newest(): { tradeId: number; ts: number } | undefined {
    return this.next === undefined ? undefined : { tradeId: this.next - 1, ts: this.lastTs };
  }

  /** The next hole found is blamed on `cause` rather than on the venue's sequence (a restart's stays until the first trade). */
  expectHole(cause: Gap['cause']): void {
    if (this.pendingCause !== 'restart') this.pendingCause = cause;
  }

  accept(tradeId: number, ts: number, now: number): Verdict {
    if (this.next === undefined || tradeId === this.next) {
      // The first trade after a restart follows on from where the last run stopped: nothing was missed.
      if (this.pendingCause === 'restart') this.pendingCause = undefined;
      this.advance(tradeId, ts);
      return 'new';
    }
    if (tradeId > this.next) {
      this.holes.push({
        first: this.next,
        last: tradeId - 1,
        fromTs: this.lastTs,
        toTs: ts,
        openedAt: now,
        cause: this.pendingCause ?? 'sequence',
      });
      this.pendingCause = undefined;
      this.advance(tradeId, ts);
      return 'new';
    }
    return this.fill(tradeId) ? 'late' : 'duplicate';
  }

  /** Removes and returns the holes opened at or before `openedBy` (older ones first), or all when too many. */
  takeHoles(openedBy: number): Hole[] {
    const due = this.holes.filter((hole) => hole.openedAt <= openedBy || this.holes.length > MAX_HOLES);
    if (due.length > 0) this.holes = this.holes.filter((hole) => !due.includes(hole));
    return due;
  }

  /** Ids missing now, in open holes. */
  get missing(): number {
    return this.holes.reduce((sum, hole) => sum + hole.last - hole.first + 1, 0);
  }

  /** The holes open now (not taken yet). */
  get open(): readonly Hole[] {
    return this.holes;
  }

  private advance(tradeId: number, ts: number): void {
    this.next = tradeId + 1;
    this.lastTs = ts;
  }

  /** Takes `tradeId` out of the hole holding it, splitting the hole; false when no hole holds it. */
  private fill(tradeId: number): boolean {
    const index = this.holes.findIndex((hole) => hole.first <= tradeId && tradeId <= hole.last);
    if (index < 0) return false;
    const hole = this.holes[index]!;
    const parts: Hole[] = [];
    if (hole.first < tradeId) parts.push({ ...hole, last: tradeId - 1 });
    if (tradeId < hole.last) parts.push({ ...hole, first: tradeId + 1 });
    this.holes.splice(index, 1, ...parts);
    return true;
  }
}

/**
 * What is left of `hole` once `got` (trade ids fetched back) is taken out: the runs of ids still
 * missing, in order. Walks the ids got, not the hole, so a hole of millions of ids costs nothing.
 */
export function remainingRuns(hole: Pick<Hole, 'first' | 'last'>, got: Iterable<number>): { first: number; last: number }[] {
  const inside = [...new Set(got)].filter((id) => hole.first <= id && id <= hole.last).sort((a, b) => a - b);
  const runs: { first: number; last: number }[] = [];
  let start = hole.first;
  for (const id of inside) {
    if (id > start) runs.push({ first: start, last: id - 1 });
    start = id + 1;
  }
  if (start <= hole.last) runs.push({ first: start, last: hole.last });
  return runs;
}

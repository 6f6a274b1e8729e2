import { messageOf } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { BoundedPublisher } from './bounded-publisher.ts';
import type { StreamCheckpoints, TradeMark } from './checkpoints.ts';

/** One venue's streams as the keeper sees them: their marks, by market. */
export interface MarkSource {
  venue: string;
  marks(): Map<string, TradeMark>;
}

/** Most notes kept while the bus is behind (one a tick): past it the oldest go, which only delays a save. */
const MAX_NOTES = 3_600;

interface Note {
  /** Messages offered when the marks were read. */
  offered: number;
  marks: { venue: string; market: string; mark: TradeMark }[];
}

/**
 * Saves each market's mark to the shared checkpoints once it is true of the bus: a mark read while
 * `n` messages had been offered is saved when the bus has taken `n` (the publisher keeps their
 * order), so a mark never runs ahead of what a crash would leave on the bus. A failed save is tried
 * again at the next tick.
 */
export class MarkKeeper {
  private notes: Note[] = [];
  private readonly saved = new Map<string, number>();
  private saving: Promise<void> | undefined;

  constructor(
    private readonly options: {
      checkpoints: Pick<StreamCheckpoints, 'save'>;
      publisher: Pick<BoundedPublisher, 'offeredCount' | 'publishedCount'>;
      sources: readonly MarkSource[];
      log: Logger;
    },
  ) {}

  /** Notes the marks as they are now, then saves the newest noted ones the bus has caught up with (after a save under way). */
  async tick(): Promise<void> {
    await this.saving;
    const { publisher } = this.options;
    this.notes.push({
      offered: publisher.offeredCount,
      marks: this.options.sources.flatMap(({ venue, marks }) => [...marks()].map(([market, mark]) => ({ venue, market, mark }))),
    });
    if (this.notes.length > MAX_NOTES) this.notes.shift();
    let ready: Note | undefined;
    while (this.notes.length > 0 && this.notes[0]!.offered <= publisher.publishedCount) ready = this.notes.shift();
    if (!ready) return;
    this.saving = this.save(ready);
    await this.saving;
    this.saving = undefined;
  }

  private async save(note: Note): Promise<void> {
    for (const { venue, market, mark } of note.marks) {
      const key = `${venue} ${market}`;
      if (this.saved.get(key) === mark.tradeId) continue;
      try {
        await this.options.checkpoints.save(venue, market, mark);
        this.saved.set(key, mark.tradeId);
      } catch (error) {
        this.options.log.debug({ err: messageOf(error), market: key }, 'Could not save a trade stream mark; trying again at the next one');
      }
    }
  }
}

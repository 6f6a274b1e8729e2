import type { Batch } from './batcher.ts';

/**
 * The flushes of one bus partition, strictly in offset order. If a flush fails the queue stops
 * at that batch and tries it again after `retryDelayMs`: a later batch must never be committed
 * while an earlier one is not in the lake, or the earlier records would be lost.
 */
export class FlushQueue {
  private readonly pending: Batch[] = [];
  private running: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly flush: (batch: Batch) => Promise<void>,
    private readonly retryDelayMs: number,
    /** Called whenever a batch left the queue or its flush failed, to re-check memory and pauses. */
    private readonly onProgress: () => void = () => undefined,
  ) {}

  /** Batches waiting or being written. */
  get batches(): readonly Batch[] {
    return this.pending;
  }

  get bytes(): number {
    return this.pending.reduce((sum, batch) => sum + batch.bytes, 0);
  }

  get records(): number {
    return this.pending.reduce((sum, batch) => sum + batch.items.length, 0);
  }

  /** True while the head batch failed and waits for its next attempt. */
  get blocked(): boolean {
    return this.failing;
  }

  push(batch: Batch): void {
    this.pending.push(batch);
    void this.run();
  }

  /** Works through the queue now; resolves when it is empty or its head failed again. */
  run(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.running ??= this.work().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Drops every batch (the partition was revoked) and stops retrying; returns what was dropped. */
  clear(): Batch[] {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.failing = false;
    return this.pending.splice(0);
  }

  /** Resolves when no flush is running. */
  async settled(): Promise<void> {
    await this.running;
  }

  private async work(): Promise<void> {
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      try {
        await this.flush(head);
      } catch {
        // The flush reported the error; keep the batch at the head and try it again later.
        this.failing = true;
        this.retryTimer = setTimeout(() => void this.run(), this.retryDelayMs);
        this.retryTimer.unref();
        this.onProgress();
        return;
      }
      if (this.pending[0] === head) this.pending.shift();
      this.failing = false;
      this.onProgress();
    }
  }
}

/**
 * A small result cache for the dashboard's repeated questions: each answer is kept for `ttlMs`
 * (no longer than the processor's flush interval, so at most one flush stale), concurrent asks of
 * the same key share one query, and at most `maxEntries` answers are held (oldest evicted).
 * A failed query is not cached. `ttlMs = 0` turns it off.
 */
export class QueryCache {
  private readonly entries = new Map<string, { at: number; value: Promise<unknown> }>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 500,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached answer for `key`, or the result of `load()` (cached when it resolves). */
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return load();
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry && now - entry.at < this.ttlMs) {
      this.hits++;
      return entry.value as Promise<T>;
    }
    this.misses++;
    const value = load();
    this.entries.delete(key);
    this.entries.set(key, { at: now, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }

  /** Forgets everything, e.g. when the lake's file list changed. */
  clear(): void {
    this.entries.clear();
  }
}

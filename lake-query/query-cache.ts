/** An answer past its `ttlMs` is still given, while one fresh query runs, until it is this many times `ttlMs` old. */
export const STALE_FACTOR = 5;

/** One key's last answer and the query that will replace it. */
interface Entry {
  answer?: { at: number; value: unknown };
  loading?: Promise<unknown>;
}

/**
 * A small result cache for the dashboard's repeated questions. An answer is fresh for `ttlMs`;
 * after that the next ask gets it at once while one query for a fresh answer runs (stale while
 * revalidating), so a page polling the same question never waits for the lake after its first
 * answer. An answer older than `STALE_FACTOR` x `ttlMs` is not given: that ask waits for the fresh
 * one. Asks of the same key share one query; a failed query is not kept (the last good answer
 * stays until it is too old); at most `maxEntries` keys are held (least recently loaded evicted).
 * `ttlMs = 0` turns it off.
 */
export class QueryCache {
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;
  /** asks answered with an answer past its ttl while a fresh one loaded */
  stale = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 500,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached answer for `key` (fresh, or stale while `load()` refreshes it), or the result of `load()`. */
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return load();
    const entry = this.entries.get(key) ?? {};
    const age = entry.answer ? this.now() - entry.answer.at : Infinity;
    if (age < this.ttlMs) {
      this.hits++;
      return Promise.resolve(entry.answer!.value as T);
    }
    if (age < this.ttlMs * STALE_FACTOR) {
      this.hits++;
      this.stale++;
      // Nobody waits for this refresh: its failure only leaves the stale answer in place.
      this.refresh(key, entry, load).catch(() => undefined);
      return Promise.resolve(entry.answer!.value as T);
    }
    this.misses++;
    return this.refresh(key, entry, load);
  }

  /** Forgets everything, e.g. when the lake's file list changed. */
  clear(): void {
    this.entries.clear();
  }

  /** The key's query in flight, or a new one whose answer replaces the entry's when it resolves. */
  private refresh<T>(key: string, entry: Entry, load: () => Promise<T>): Promise<T> {
    if (entry.loading) return entry.loading as Promise<T>;
    const at = this.now();
    const loading = load().then(
      (value) => {
        entry.answer = { at, value };
        entry.loading = undefined;
        return value;
      },
      (error: unknown) => {
        entry.loading = undefined;
        throw error;
      },
    );
    entry.loading = loading;
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return loading;
  }
}

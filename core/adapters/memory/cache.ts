import type { Cache } from '../../ports/cache.ts';
import type { Health } from '../../ports/health.ts';

/** The in-memory cache: maps with per-key (and per-field) expiry against an injectable clock; each method is atomic. */
export class MemoryCache implements Cache {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();
  private readonly maps = new Map<string, Map<string, { value: string; expiresAt: number }>>();

  constructor(private readonly now: () => number = Date.now) {}

  async get(key: string): Promise<string | undefined> {
    return this.read(key);
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.write(key, value, this.now() + ttlSeconds * 1000);
  }

  // Read and write happen in one synchronous step, so concurrent callers cannot interleave.
  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    if (this.read(key) !== undefined) return false;
    this.write(key, value, this.now() + ttlSeconds * 1000);
    return true;
  }

  async increment(key: string, by: number, ttlSeconds: number): Promise<number> {
    const current = this.read(key);
    const value = (current === undefined ? 0 : Number(current)) + by;
    const expiresAt = current === undefined ? this.now() + ttlSeconds * 1000 : this.entries.get(key)!.expiresAt;
    this.write(key, String(value), expiresAt);
    return value;
  }

  async setField(key: string, field: string, value: string, ttlSeconds: number): Promise<void> {
    let map = this.maps.get(key);
    if (!map) this.maps.set(key, (map = new Map()));
    map.set(field, { value, expiresAt: this.now() + ttlSeconds * 1000 });
  }

  async fields(key: string): Promise<Record<string, string>> {
    const map = this.maps.get(key);
    const live: Record<string, string> = {};
    if (!map) return live;
    const now = this.now();
    for (const [field, entry] of map) {
      if (entry.expiresAt <= now) map.delete(field);
      else live[field] = entry.value;
    }
    if (map.size === 0) this.maps.delete(key);
    return live;
  }

  async health(): Promise<Health> {
    return { ok: true, detail: `in-memory, ${this.entries.size} keys` };
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.maps.clear();
  }

  private read(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  private write(key: string, value: string, expiresAt: number): void {
    this.entries.set(key, { value, expiresAt });
    if (this.entries.size > 10_000) this.sweep();
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}

import type { Health } from './health.ts';

export interface ObjectInfo {
  key: string;
  size: number;
  /** epoch ms */
  lastModified: number;
}

/**
 * Where the lake lives: a local folder, or an S3 bucket (MinIO, AWS S3, ...). Keys are
 * `/`-separated paths relative to the lake root.
 * - `put` is atomic: a reader sees the old object or the whole new one, never a part.
 * - `get` returns `undefined` for a missing key and throws only when the store fails.
 * - `list` returns every object under the prefix, sorted by key.
 * - `delete` of a missing key succeeds.
 */
export interface ObjectStore {
  put(key: string, body: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(key: string): Promise<void>;
  health(): Promise<Health>;
  close(): Promise<void>;
}

/**
 * Picks a partition for a message key, the same way for the same key on every run.
 * FNV-1a over the UTF-16 code units; stable and cheap, which is all the in-memory bus needs.
 */
export function partitionForKey(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

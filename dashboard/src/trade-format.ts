/** Formatting and small decisions of the trades and streams cards. Pure functions, unit-tested. */

/** `binance:BTCUSDT`: one market as a single value (for a `<select>` or the URL). Venues have no `:`. */
export function marketKey(venue: string, market: string): string {
  return `${venue}:${market}`;
}

/** The venue and market of a `marketKey`, or undefined when it is not one. */
export function parseMarketKey(key: string | null | undefined): { venue: string; market: string } | undefined {
  const at = key?.indexOf(':') ?? -1;
  if (!key || at <= 0 || at === key.length - 1) return undefined;
  return { venue: key.slice(0, at), market: key.slice(at + 1) };
}

/** A trade quantity with the decimals it needs, trailing zeros dropped: `1,234.5`, `0.25`, `0.00012345`. */
export function formatQty(qty: number | null | undefined): string {
  if (qty == null || !Number.isFinite(qty)) return '—';
  const abs = Math.abs(qty);
  const decimals = abs >= 1_000 ? 2 : abs >= 1 ? 4 : 8;
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: decimals }).format(qty);
}

/** The UTC time of a trade to the millisecond, as a tape shows it: `14:03:27.123`. */
export function formatTapeTime(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '—';
  return new Date(ms).toISOString().slice(11, 23);
}

/** The missing trade ids of a gap, both ends included: `1001–1040`, or `1001` for one. */
export function formatIdRange(first: number, last: number): string {
  return first === last ? String(first) : `${first}–${last}`;
}

/** A UTC time span with its date: `2026-03-02 14:03:27–14:05:00 UTC`; the second date only when it differs. */
export function formatUtcSpan(fromMs: number, toMs: number): string {
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs)) return '—';
  const from = new Date(fromMs).toISOString();
  const to = new Date(toMs).toISOString();
  const end = from.slice(0, 10) === to.slice(0, 10) ? to.slice(11, 19) : `${to.slice(0, 10)} ${to.slice(11, 19)}`;
  return `${from.slice(0, 10)} ${from.slice(11, 19)}–${end} UTC`;
}

/** `0 gaps`, `1 gap`, `50+ gaps`: a count of a list fetched with a limit, where a full list may hold more. */
export function countLabel(count: number, limit: number, noun: string): string {
  const shown = count >= limit ? `${limit}+` : String(count);
  return `${shown} ${noun}${count === 1 ? '' : 's'}`;
}

/** The share of a candle's volume that buyers took, in percent, or null for no volume. */
export function buyShare(candle: { volume: number; buyVolume: number }): number | null {
  return candle.volume > 0 ? (candle.buyVolume / candle.volume) * 100 : null;
}

/** What a venue's stream is doing, for its badge: reading, paused (too much waiting for the bus), or down. */
export function streamState(stream: { connected: boolean; paused: boolean }): 'connected' | 'paused' | 'disconnected' {
  if (!stream.connected) return 'disconnected';
  return stream.paused ? 'paused' : 'connected';
}

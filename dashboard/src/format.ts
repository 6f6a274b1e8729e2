/** Number and time formatting as market screens show it. Pure functions, unit-tested. */

const grouped = (digits: number) => new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Decimals a price needs by magnitude: 64,123.45 / 1.2345 / 0.00001234. */
export function priceDecimals(price: number): number {
  const abs = Math.abs(price);
  if (abs >= 1_000) return 2;
  if (abs >= 1) return 4;
  if (abs === 0) return 2;
  // Keep four significant digits below 1.
  return Math.min(12, Math.max(4, 3 - Math.floor(Math.log10(abs))));
}

/** `64,123.45`, `1.2345`, `0.00001234`; an em dash for a missing value. */
export function formatPrice(price: number | null | undefined): string {
  if (price == null || !Number.isFinite(price)) return '—';
  return grouped(priceDecimals(price)).format(price);
}

/** `+2.35%`, `-0.50%`, `0.00%`. */
export function formatPct(pct: number | null | undefined): string {
  if (pct == null || !Number.isFinite(pct)) return '—';
  const rounded = Math.round(pct * 100) / 100;
  const sign = rounded > 0 ? '+' : rounded < 0 ? '-' : '';
  return `${sign}${grouped(2).format(Math.abs(rounded))}%`;
}

/** `up`, `down` or `flat`: the colour class of a change. */
export function changeClass(pct: number | null | undefined): 'up' | 'down' | 'flat' {
  if (pct == null || !Number.isFinite(pct) || Math.round(pct * 100) === 0) return 'flat';
  return pct > 0 ? 'up' : 'down';
}

/** A whole count with thousands separators: `1,234,567`. */
export function formatCount(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return '—';
  return grouped(0).format(Math.round(n));
}

/** Large money amounts as markets abbreviate them: `$1.23T`, `$45.60B`, `$999.00K`, `$12.34`. */
export function formatUsdCompact(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return '—';
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  for (const [size, suffix] of units) if (abs >= size) return `${sign}$${grouped(2).format(abs / size)}${suffix}`;
  return `${sign}$${grouped(2).format(abs)}`;
}

/** Bytes in binary units: `512 B`, `1.5 KiB`, `12.3 MiB`. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** How long ago, compactly: `4s`, `3m 12s`, `2h 5m`, `3d 4h`; `—` for no time, `0s` for the future. */
export function formatAge(thenMs: number | null | undefined, nowMs: number): string {
  if (thenMs == null || !Number.isFinite(thenMs)) return '—';
  const s = Math.max(0, Math.floor((nowMs - thenMs) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A UTC time of day for status lines: `14:03:27 UTC`. */
export function formatUtcTime(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '—';
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

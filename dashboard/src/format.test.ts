import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  changeClass,
  formatAge,
  formatBytes,
  formatCount,
  formatPct,
  formatPrice,
  formatUsdCompact,
  formatUtcTime,
  priceDecimals,
} from './format.ts';

describe('dashboard formatting', () => {
  it('formats prices with thousands separators and precision by magnitude', () => {
    assert.equal(formatPrice(64123.456), '64,123.46');
    assert.equal(formatPrice(1234567.8), '1,234,567.80');
    assert.equal(formatPrice(1.23456), '1.2346');
    assert.equal(formatPrice(0.5), '0.5000');
    assert.equal(formatPrice(0.00001234), '0.00001234');
    assert.equal(formatPrice(null), '—');
    assert.equal(priceDecimals(0), 2);
  });

  it('formats percentages with a sign and two decimals', () => {
    assert.equal(formatPct(2.345), '+2.35%');
    assert.equal(formatPct(-0.5), '-0.50%');
    assert.equal(formatPct(0.001), '0.00%');
    assert.equal(formatPct(1234.5), '+1,234.50%');
    assert.equal(formatPct(null), '—');
  });

  it('colours changes up, down or flat', () => {
    assert.equal(changeClass(1.2), 'up');
    assert.equal(changeClass(-0.01), 'down');
    assert.equal(changeClass(0.004), 'flat');
    assert.equal(changeClass(null), 'flat');
  });

  it('formats counts, money and bytes', () => {
    assert.equal(formatCount(1234567.4), '1,234,567');
    assert.equal(formatUsdCompact(1.234e12), '$1.23T');
    assert.equal(formatUsdCompact(45_600_000_000), '$45.60B');
    assert.equal(formatUsdCompact(999), '$999.00');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(12.3 * 1024 * 1024), '12.3 MiB');
  });

  it('formats ages and UTC times', () => {
    const now = Date.parse('2026-03-02T10:00:00Z');
    assert.equal(formatAge(now - 4_000, now), '4s');
    assert.equal(formatAge(now - 192_000, now), '3m 12s');
    assert.equal(formatAge(now - (2 * 3600 + 5 * 60) * 1000, now), '2h 5m');
    assert.equal(formatAge(now - (3 * 86400 + 4 * 3600) * 1000, now), '3d 4h');
    assert.equal(formatAge(now + 5_000, now), '0s');
    assert.equal(formatAge(null, now), '—');
    assert.equal(formatUtcTime(now + 3_723_000), '11:02:03 UTC');
  });
});

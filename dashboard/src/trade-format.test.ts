import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  buyShare,
  countLabel,
  formatIdRange,
  formatQty,
  formatTapeTime,
  formatUtcSpan,
  marketKey,
  parseMarketKey,
  streamState,
} from './trade-format.ts';

describe('trades card formatting', () => {
  it('turns a venue and a market into one key and back, whatever the market name holds', () => {
    assert.equal(marketKey('kraken', 'BTC/USD'), 'kraken:BTC/USD');
    assert.deepEqual(parseMarketKey('kraken:BTC/USD'), { venue: 'kraken', market: 'BTC/USD' });
    assert.deepEqual(parseMarketKey('coinbase:BTC-USD'), { venue: 'coinbase', market: 'BTC-USD' });
    assert.equal(parseMarketKey('binance'), undefined);
    assert.equal(parseMarketKey(':BTCUSDT'), undefined);
    assert.equal(parseMarketKey('binance:'), undefined);
    assert.equal(parseMarketKey(null), undefined);
  });

  it('formats quantities with the decimals they need and no trailing zeros', () => {
    assert.equal(formatQty(1234.5), '1,234.5');
    assert.equal(formatQty(12.345678), '12.3457');
    assert.equal(formatQty(0.25), '0.25');
    assert.equal(formatQty(0.000123456789), '0.00012346');
    assert.equal(formatQty(2), '2');
    assert.equal(formatQty(null), '—');
  });

  it('formats trade times to the millisecond in UTC', () => {
    assert.equal(formatTapeTime(Date.parse('2026-03-02T14:03:27.123Z')), '14:03:27.123');
    assert.equal(formatTapeTime(Number.NaN), '—');
  });

  it('formats the id range and the time span of a gap', () => {
    assert.equal(formatIdRange(1001, 1040), '1001–1040');
    assert.equal(formatIdRange(7, 7), '7');
    assert.equal(formatUtcSpan(Date.parse('2026-03-02T14:03:27Z'), Date.parse('2026-03-02T14:05:00Z')), '2026-03-02 14:03:27–14:05:00 UTC');
    assert.equal(
      formatUtcSpan(Date.parse('2026-03-01T23:59:30Z'), Date.parse('2026-03-02T00:00:10Z')),
      '2026-03-01 23:59:30–2026-03-02 00:00:10 UTC',
    );
  });

  it('counts a limited list, saying when there may be more', () => {
    assert.equal(countLabel(0, 50, 'gap'), '0 gaps');
    assert.equal(countLabel(1, 50, 'gap'), '1 gap');
    assert.equal(countLabel(12, 50, 'gap'), '12 gaps');
    assert.equal(countLabel(50, 50, 'gap'), '50+ gaps');
  });

  it('gives the buyers’ share of a candle, and none for an empty one', () => {
    assert.equal(buyShare({ volume: 4, buyVolume: 3 }), 75);
    assert.equal(buyShare({ volume: 0, buyVolume: 0 }), null);
  });

  it('names a stream connected, paused or disconnected', () => {
    assert.equal(streamState({ connected: true, paused: false }), 'connected');
    assert.equal(streamState({ connected: true, paused: true }), 'paused');
    assert.equal(streamState({ connected: false, paused: true }), 'disconnected');
  });
});

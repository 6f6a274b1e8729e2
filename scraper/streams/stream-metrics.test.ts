import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../core/metrics.ts';
import { streamReporter, type VenueFigures } from './stream-metrics.ts';

const figures = (venue: string, tradesReceived: number, gapsRecorded = 0): VenueFigures => ({
  venue,
  connected: true,
  tradesReceived,
  duplicatesDropped: 0,
  tradesRefilled: 0,
  gapsRecorded,
});

describe('streamReporter', () => {
  it('moves each venue counter by what its figure grew, starting every series at 0', async () => {
    const metrics = new Metrics();
    const report = streamReporter(metrics);
    report(figures('binance', 0));
    let text = await metrics.text();
    assert.match(text, /^scraper_stream_gaps_recorded_total\{venue="binance"\} 0$/m);
    assert.match(text, /^scraper_stream_trades_received_total\{venue="binance"\} 0$/m);
    report(figures('binance', 120, 1));
    report(figures('kraken', 7));
    report(figures('binance', 150, 1));
    text = await metrics.text();
    assert.match(text, /^scraper_stream_trades_received_total\{venue="binance"\} 150$/m);
    assert.match(text, /^scraper_stream_gaps_recorded_total\{venue="binance"\} 1$/m);
    assert.match(text, /^scraper_stream_trades_received_total\{venue="kraken"\} 7$/m);
    assert.match(text, /^scraper_stream_connected\{venue="kraken"\} 1$/m);
  });
});

import type { Metrics } from '../../core/metrics.ts';

/** The figures of one venue stream the metrics follow, each counted since the stream started. */
export interface VenueFigures {
  venue: string;
  connected: boolean;
  tradesReceived: number;
  duplicatesDropped: number;
  tradesRefilled: number;
  gapsRecorded: number;
}

/**
 * The trade streams' Prometheus metrics, registered once per registry; `venue` is one of the
 * configured venues (binance, coinbase, kraken). The README's metrics table is generated from
 * this declaration.
 */
export function streamMetrics(metrics: Metrics) {
  return {
    connected: metrics.gauge('scraper_stream_connected', '1 while the venue stream is connected.', ['venue']),
    trades: metrics.counter('scraper_stream_trades_received_total', 'Trades received on the venue stream.', ['venue']),
    duplicates: metrics.counter('scraper_stream_duplicates_dropped_total', 'Trades received twice and published once.', ['venue']),
    refilled: metrics.counter('scraper_stream_trades_refilled_total', 'Missed trades fetched back from REST history.', ['venue']),
    gaps: metrics.counter('scraper_stream_gaps_recorded_total', 'Gap records written for trades REST could not return.', ['venue']),
    buffered: metrics.gauge('scraper_stream_buffered_messages', 'Stream messages waiting for the bus.'),
  };
}

/**
 * Moves the stream counters to a venue's figures: each counter grows by what its figure grew
 * since the last report (the first report starts every series, at 0 when nothing happened yet).
 */
export function streamReporter(metrics: Metrics): (figures: VenueFigures) => void {
  const m = streamMetrics(metrics);
  const reported = new Map<string, VenueFigures>();
  return (figures) => {
    const venue = { venue: figures.venue };
    const last = reported.get(figures.venue);
    const grown = (key: 'tradesReceived' | 'duplicatesDropped' | 'tradesRefilled' | 'gapsRecorded') =>
      Math.max(0, figures[key] - (last?.[key] ?? 0));
    m.connected.set(venue, figures.connected ? 1 : 0);
    m.trades.inc(venue, grown('tradesReceived'));
    m.duplicates.inc(venue, grown('duplicatesDropped'));
    m.refilled.inc(venue, grown('tradesRefilled'));
    m.gaps.inc(venue, grown('gapsRecorded'));
    reported.set(figures.venue, { ...figures });
  };
}

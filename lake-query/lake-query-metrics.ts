import type { Metrics } from '../core/metrics.ts';

/**
 * lake-query's Prometheus metrics, registered once per registry. Every label is bounded: `route`
 * is the route's pattern (`/api/candles`, `*` for the page's files), never the requested path;
 * `status` an HTTP status; `outcome` is `ok` or an error code, as is `code`. The README's metrics
 * table is generated from this declaration.
 */
export function lakeQueryMetrics(metrics: Metrics) {
  return {
    httpRequests: metrics.counter('lake_query_http_requests_total', 'HTTP requests answered, by route pattern and status.', [
      'route',
      'status',
    ]),
    queryDuration: metrics.histogram('lake_query_duration_seconds', 'Time to answer a lake query, s.', ['outcome']),
    queryFailures: metrics.counter('lake_query_failures_total', 'Lake queries that failed or timed out, by error code.', ['code']),
    livePrices: metrics.counter('lake_query_live_prices_total', 'Prices the live feed passed to /api/stream clients.'),
    liveClients: metrics.gauge('lake_query_live_clients', 'Connected /api/stream clients.'),
    liveClientsDropped: metrics.counter(
      'lake_query_live_clients_dropped_total',
      'Slow /api/stream clients the server disconnected, by reason (queue, stalled).',
      ['reason'],
    ),
  };
}

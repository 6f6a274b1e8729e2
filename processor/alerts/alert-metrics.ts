import type { Metrics } from '../../core/metrics.ts';

/**
 * The alerter's Prometheus metrics, registered once per registry; `rule` is a configured rule's
 * name, `outcome` one of delivered, skipped, failed, dropped. The README's metrics table is
 * generated from this declaration.
 */
export function alertMetrics(metrics: Metrics) {
  return {
    evaluated: metrics.counter('processor_alerter_records_evaluated_total', 'Price records the alert rules were evaluated on.'),
    raised: metrics.counter('processor_alerts_raised_total', 'Alerts raised and published, by rule (replays count again).', ['rule']),
    webhookCalls: metrics.counter('processor_alert_webhook_calls_total', 'Alerts handled by the webhook sender, by outcome.', ['outcome']),
  };
}

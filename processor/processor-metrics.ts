import type { Metrics } from '../core/metrics.ts';

/** The processor's Prometheus metrics, registered once per registry. */
export function processorMetrics(metrics: Metrics) {
  return {
    recordsWritten: metrics.counter('processor_records_written_total', 'Records committed to the lake.', ['dataset']),
    duplicatesDropped: metrics.counter(
      'processor_duplicates_dropped_total',
      'Records not written because the lake (or the same flush) already held their key.',
      ['dataset'],
    ),
    flushSeconds: metrics.histogram(
      'processor_flush_seconds',
      'Time to stage, deduplicate and commit one flush.',
      [],
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    batchRecords: metrics.histogram(
      'processor_flush_records',
      'Records per committed flush.',
      [],
      [1, 10, 100, 1_000, 5_000, 10_000, 50_000, 100_000, 500_000],
    ),
    deadLetters: metrics.counter('processor_dead_letters_total', 'Messages the processor rejected to the dead-letter dataset.'),
    consumerLag: metrics.gauge('processor_consumer_lag', 'Messages published but not yet committed, per topic partition.', [
      'topic',
      'partition',
    ]),
    bufferedBytes: metrics.gauge('processor_buffered_bytes', 'Estimated bytes consumed and not yet committed.'),
    commitFailures: metrics.counter('processor_commit_failures_total', 'Commits that failed and were tried again.'),
  };
}

export type ProcessorMetrics = ReturnType<typeof processorMetrics>;

import { INGESTED } from '../core/datasets/index.ts';
import type { Metrics } from '../core/metrics.ts';

/**
 * The processor's Prometheus metrics, registered once per registry. Every label is bounded:
 * `dataset` is an ingested dataset (its series start at 0), `topic` and `partition` a bus
 * partition the group reads. The README's metrics table is generated from this declaration.
 */
export function processorMetrics(metrics: Metrics) {
  const made = {
    recordsWritten: metrics.counter('processor_records_written_total', 'Records committed to the lake, by dataset.', ['dataset']),
    duplicatesDropped: metrics.counter(
      'processor_duplicates_dropped_total',
      'Records not written because the lake (or the same flush) already held their key.',
      ['dataset'],
    ),
    flushSeconds: metrics.histogram(
      'processor_flush_seconds',
      'Time to stage, deduplicate and commit one flush (one lake transaction), s.',
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
    messagesParsed: metrics.counter(
      'processor_messages_parsed_total',
      'Messages parsed and validated, by path: `bulk` (canonical JSON, decided by DuckDB a flush at a time) or `exact` (JSON.parse and zod, one at a time: not canonical, or rejected).',
      ['path'],
    ),
    consumerLag: metrics.gauge(
      'processor_consumer_lag_messages',
      "Messages published but not yet committed, per topic partition (the bus's committed offsets of the group).",
      ['topic', 'partition'],
    ),
    bufferedBytes: metrics.gauge('processor_buffered_bytes', 'Estimated bytes consumed and not yet committed.'),
    commitFailures: metrics.counter('processor_commit_failures_total', 'Commits that failed and were tried again.'),
  };
  for (const path of ['bulk', 'exact']) made.messagesParsed.inc({ path }, 0);
  for (const dataset of INGESTED) {
    made.recordsWritten.inc({ dataset: dataset.name }, 0);
    made.duplicatesDropped.inc({ dataset: dataset.name }, 0);
  }
  return made;
}

/** The processor's metrics, as `processorMetrics` makes them. */
export type ProcessorMetrics = ReturnType<typeof processorMetrics>;

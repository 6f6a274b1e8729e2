import type { Metrics } from '../core/metrics.ts';

/** The processor's Prometheus metrics, registered once per registry. */
export function processorMetrics(metrics: Metrics) {
  return {
    recordsWritten: metrics.counter('processor_records_written_total', 'Records written to the lake.', ['dataset']),
    filesWritten: metrics.counter('processor_files_written_total', 'Parquet files written to the lake.'),
    bytesWritten: metrics.counter('processor_bytes_written_total', 'Bytes of Parquet written to the lake.'),
    flushSeconds: metrics.histogram(
      'processor_flush_seconds',
      'Time to write and commit one batch.',
      [],
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    batchRecords: metrics.histogram(
      'processor_batch_records',
      'Records per flushed batch.',
      [],
      [1, 10, 100, 1_000, 5_000, 10_000, 50_000, 100_000],
    ),
    deadLetters: metrics.counter('processor_dead_letters_total', 'Messages the processor rejected to the dead-letter dataset.'),
    consumerLag: metrics.gauge('processor_consumer_lag', 'Messages published but not yet committed, per topic partition.', [
      'topic',
      'partition',
    ]),
    bufferedBytes: metrics.gauge('processor_buffered_bytes', 'Estimated bytes held in batches not yet written.'),
    filesByPartition: metrics.counter('processor_partition_files_written_total', 'Parquet files written, per topic partition.', [
      'topic',
      'partition',
    ]),
    commitFailures: metrics.counter(
      'processor_commit_failures_total',
      'Flushes whose offset commit failed (written again and committed later, or left to the next owner).',
    ),
    compactions: metrics.counter('processor_compactions_total', 'Compacted files committed (one marker each).'),
    compactionFilesMerged: metrics.counter('processor_compaction_files_merged_total', 'Source files merged into compacted files.'),
    lakeFiles: metrics.gauge('processor_lake_files', 'Live Parquet files of a day folder after its last compaction.', ['folder']),
  };
}

export type ProcessorMetrics = ReturnType<typeof processorMetrics>;

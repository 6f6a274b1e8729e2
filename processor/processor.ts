import { hostname } from 'node:os';
import { LakeError, messageOf } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Bus, BusMessage, Consumer, MessageBatch, TopicPartition } from '../core/ports/bus.ts';
import type { Cache } from '../core/ports/cache.ts';
import type { ObjectStore } from '../core/ports/object-store.ts';
import { deadLetter } from '../core/records/dead-letter.ts';
import type { ProcessorStatus } from '../core/records/status.ts';
import { StatusBoard } from '../core/status-board.ts';
import { Batcher, type Batch, type BatchItem } from './batcher.ts';
import { Compactor } from './compactor.ts';
import type { ProcessorConfig } from './config.ts';
import { alertsDataset, deadLetterDataset, gapsDataset, pricesDataset, tradesDataset, type AnyDataset } from './datasets.ts';
import { DEFAULT_TOPICS } from '../core/records/topics.ts';
import { FlushJournal } from './flush-journal.ts';
import { FlushQueue } from './flush-queue.ts';
import { LakeWriter, type RetryPolicy } from './lake-writer.ts';
import { ParquetEncoder } from './parquet.ts';
import { implausibleEventTime } from './partitioning.ts';
import { processorMetrics } from './processor-metrics.ts';

/** The settings the processor reads (the lake location is the store's business). */
export type ProcessorSettings = Pick<
  ProcessorConfig,
  'flushIntervalMs' | 'flushMaxRecords' | 'maxBufferedBytes' | 'kafkaGroup' | 'kafkaTopic' | 'deadLetterTopic'
> &
  Partial<
    Pick<ProcessorConfig, 'compactIntervalMs' | 'compactTargetBytes' | 'compactGraceMs' | 'alertsTopic' | 'tradesTopic' | 'gapsTopic'>
  >;

export interface ProcessorOptions {
  bus: Bus;
  store: ObjectStore;
  config: ProcessorSettings;
  log: Logger;
  metrics: Metrics;
  cache: Cache;
  /** The clock, epoch ms: batch ages and the "absurd future" check use it. */
  now?: () => number;
  /** How often the status is published, ms (default 2000). */
  statusIntervalMs?: number;
  /** Store write retries (default: 5 retries, 200 ms to 10 s, with jitter). */
  retry?: RetryPolicy;
}

/** A running processor. */
export interface Processor {
  /** Joins the consumer group and starts consuming every dataset topic. */
  start(): Promise<void>;
  /** Writes every buffered batch, commits, leaves the group. Batches that cannot be written stay uncommitted. */
  stop(): Promise<void>;
  /** Waits until everything published so far was consumed (or `timeoutMs` passed), then writes and commits it. */
  drain(timeoutMs?: number): Promise<void>;
  status(): ProcessorStatus;
}

const decoder = new TextDecoder();

// JS strings are UTF-16 and a parsed row costs a few hundred bytes of object overhead.
const estimateBytes = (message: BusMessage): number => message.value.length * 2 + 256;

/**
 * The processor: consumes the dataset topics, micro-batches each bus partition, and writes each
 * batch as Parquet files partitioned by UTC event day. A partition's offsets are committed only
 * after every file of its batch is stored, so a crash replays records and never loses them.
 */
export function createProcessor(options: ProcessorOptions): Processor {
  const { bus, store, config, metrics: registry } = options;
  const log = options.log.child({ component: 'processor' });
  const now = options.now ?? Date.now;
  const metrics = processorMetrics(registry);
  const board = new StatusBoard(options.cache);
  const journal = new FlushJournal(store, config.kafkaGroup);
  const deadLetters = deadLetterDataset(config.deadLetterTopic);
  const datasets: AnyDataset[] = [
    pricesDataset(config.kafkaTopic),
    deadLetters,
    alertsDataset(config.alertsTopic ?? DEFAULT_TOPICS.alerts),
    tradesDataset(config.tradesTopic ?? DEFAULT_TOPICS.trades),
    gapsDataset(config.gapsTopic ?? DEFAULT_TOPICS.gaps),
  ];
  const batcher = new Batcher(config.flushMaxRecords);
  const queues = new Map<string, FlushQueue>();
  let consumer: Consumer | undefined;
  const positions = new Map<string, number>();
  /** The next offset of each partition this processor committed itself: a redelivery below it is already in the lake. */
  const committedNext = new Map<string, number>();
  /** Per-partition chains: a revocation, a rewind and a batch of one partition never interleave. */
  const locks = new Map<string, Promise<unknown>>();
  const checked = new Set<string>();
  const pauseReasons = new Set<'memory' | 'store'>();
  const handlers = new Set<Promise<void>>();
  const timers: NodeJS.Timeout[] = [];
  const instance = `${hostname()}-${process.pid}`;
  let encoder: ParquetEncoder | undefined;
  let compactor: Compactor | undefined;
  let compacting: Promise<void> | undefined;
  let writer: LakeWriter | undefined;
  let state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  let stopping: Promise<void> | undefined;
  const totals = { recordsWritten: 0, filesWritten: 0, bytesWritten: 0, deadLettered: 0 };
  let lastFlushAt: number | null = null;
  let lastFlushMs: number | null = null;
  let lastError: string | null = null;
  let lag: Record<string, number> = {};

  const keyOf = (topic: string, partition: number) => `${topic}/${partition}`;
  const owns = (topic: string, partition: number) =>
    consumer?.assignment().some((owned) => owned.topic === topic && owned.partition === partition) ?? false;
  const withLock = <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const run = (locks.get(key) ?? Promise.resolve()).then(work, work);
    const tail = run.catch(() => undefined);
    locks.set(key, tail);
    void tail.then(() => locks.get(key) === tail && locks.delete(key));
    return run;
  };
  const queued = () => [...queues.values()];
  const bufferedBytes = () => batcher.bufferedBytes + queued().reduce((sum, queue) => sum + queue.bytes, 0);

  function setPaused(reason: 'memory' | 'store', paused: boolean): void {
    const before = pauseReasons.size > 0;
    if (paused) pauseReasons.add(reason);
    else pauseReasons.delete(reason);
    const after = pauseReasons.size > 0;
    if (before === after) return;
    consumer?.setPaused(after);
    log.info({ reasons: [...pauseReasons], bufferedBytes: bufferedBytes() }, after ? 'Paused consumption' : 'Resumed consumption');
  }

  function queueOf(topic: string, partition: number): FlushQueue {
    const key = keyOf(topic, partition);
    let queue = queues.get(key);
    if (!queue) {
      queue = new FlushQueue(
        (batch) => flush(batch),
        config.flushIntervalMs,
        () => {
          relieveMemory();
          void publishStatus();
        },
      );
      queues.set(key, queue);
    }
    return queue;
  }

  function enqueue(batch: Batch): void {
    queueOf(batch.topic, batch.partition).push(batch);
  }

  /** Stores one batch's files, then commits past it. Throws (and the queue retries) on failure. */
  async function flush(batch: Batch): Promise<void> {
    const started = performance.now();
    const range = `${batch.topic}/${batch.partition} offsets ${batch.firstOffset}-${batch.lastOffset}`;
    try {
      const member = consumer;
      if (!member) throw new LakeError('BUS_CLOSED', `not consuming ${batch.topic}`);
      const commit = (nextOffset: number) => member.commit([{ topic: batch.topic, partition: batch.partition, nextOffset }]);
      const owned = () => {
        if (!owns(batch.topic, batch.partition))
          throw new LakeError('BUS_CLOSED', `${batch.topic}/${batch.partition} was revoked; its next owner writes ${range}`);
      };
      const files = await writer!.write(batch, {
        beforeJournal: owned,
        // The fence: a commit of the offset already committed succeeds only while the group still
        // gives us the partition. A later owner therefore starts after this point, reads the
        // journal entry just written, and cuts its replay at the same offsets: a revoked owner's
        // late files can only be the very objects the next owner writes.
        beforeFiles: () => commit(batch.firstOffset),
      });
      // Commit after every put: a crash before the upload must replay records, not lose them.
      await commit(batch.lastOffset + 1).catch((error: unknown) => {
        metrics.commitFailures.inc();
        throw error;
      });
      committedNext.set(keyOf(batch.topic, batch.partition), batch.lastOffset + 1);
      const seconds = (performance.now() - started) / 1000;
      for (const file of files) {
        metrics.recordsWritten.inc({ dataset: file.dataset }, file.records);
        metrics.bytesWritten.inc(file.bytes);
        totals.recordsWritten += file.records;
        totals.bytesWritten += file.bytes;
      }
      metrics.filesWritten.inc(files.length);
      metrics.filesByPartition.inc({ topic: batch.topic, partition: String(batch.partition) }, files.length);
      metrics.flushSeconds.observe(seconds);
      metrics.batchRecords.observe(batch.items.length);
      totals.filesWritten += files.length;
      lastFlushAt = now();
      lastFlushMs = Math.round(seconds * 1000);
      // This batch may have been the one holding consumption back.
      if (!queued().some((queue) => queue.blocked && queue.batches[0] !== batch)) setPaused('store', false);
      log.debug({ range, records: batch.items.length, files: files.length, ms: lastFlushMs }, 'Flushed batch');
    } catch (error) {
      lastError = `writing ${range}: ${messageOf(error)}`;
      const revoked = !owns(batch.topic, batch.partition);
      if (!revoked) {
        log.error(
          { range, records: batch.items.length, err: messageOf(error) },
          'Failed to write batch; consumption paused until it is written',
        );
        setPaused('store', true);
      }
      throw error;
    }
  }

  /** Over the byte cap: write the oldest batches and pause until enough memory is free. */
  function relieveMemory(): void {
    if (bufferedBytes() < config.maxBufferedBytes) {
      setPaused('memory', false);
      return;
    }
    setPaused('memory', true);
    const candidates = batcher.unpinned();
    if (candidates.length === 0 && batcher.all().length > 0 && batcher.bufferedBytes >= config.maxBufferedBytes) {
      // A replay pinned to a range longer than the cap allows would wait for ever: let it go.
      log.warn({ bufferedBytes: batcher.bufferedBytes }, 'Writing a pinned replay batch early to free memory; it may duplicate rows');
      candidates.push(...batcher.all());
    }
    for (const batch of candidates) {
      if (batcher.bufferedBytes <= config.maxBufferedBytes / 2) break;
      const taken = batcher.drop(batch.topic, batch.partition);
      if (taken) enqueue(taken);
    }
    metrics.bufferedBytes.set(bufferedBytes());
  }

  function toItem(dataset: AnyDataset, topic: string, message: BusMessage): BatchItem {
    const value = decoder.decode(message.value);
    const parsed = dataset.parse(value);
    let reason: string;
    if (parsed.ok) {
      const eventTimeMs = dataset.eventTime(parsed.row);
      const implausible = implausibleEventTime(eventTimeMs, now());
      if (implausible === undefined) return { dataset, row: parsed.row, eventTimeMs };
      reason = implausible;
    } else {
      reason = parsed.reason;
    }
    totals.deadLettered += 1;
    metrics.deadLetters.inc();
    // The bus timestamp, not our clock, stamps the rejection: a replay must file it on the same day.
    const row = deadLetter({
      at: message.timestamp,
      stage: 'processor',
      source: `${topic}/${message.partition}/${message.offset}`,
      reason,
      payload: value,
    });
    return { dataset: deadLetters, row, eventTimeMs: row.at };
  }

  /** On the first batch of a partition we now own: pin the batch to an uncommitted flush's range. */
  async function checkJournal(topic: string, partition: number, firstOffset: number): Promise<void> {
    const key = keyOf(topic, partition);
    if (checked.has(key)) return;
    checked.add(key);
    let last;
    for (let attempt = 1; ; attempt += 1) {
      try {
        last = await journal.read(topic, partition);
        break;
      } catch (error) {
        // Without the journal a replay could cut its batch elsewhere and overlap the files of the
        // uncommitted flush: wait for the store rather than guess.
        if (attempt >= 8 || state !== 'running') {
          checked.delete(key);
          throw error;
        }
        log.warn({ topic, partition, attempt, err: messageOf(error) }, 'Could not read the flush journal; trying again');
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 200 * 2 ** attempt)));
      }
    }
    if (last && last.firstOffset === firstOffset && last.lastOffset >= firstOffset) {
      batcher.pin(topic, partition, last.lastOffset);
      log.info({ topic, partition, firstOffset, lastOffset: last.lastOffset }, 'Replaying an uncommitted flush with its original range');
    }
  }

  function handle(dataset: AnyDataset, batch: MessageBatch): Promise<void> {
    return withLock(keyOf(batch.topic, batch.partition), () => handleNow(dataset, batch));
  }

  async function handleNow(dataset: AnyDataset, batch: MessageBatch): Promise<void> {
    if (state !== 'running')
      throw new LakeError('BUS_CLOSED', `the processor is ${state}; ${batch.topic}/${batch.partition} will be delivered again`);
    const key = keyOf(batch.topic, batch.partition);
    const expected = positions.get(key);
    if (expected !== undefined && (batch.messages[0]?.offset ?? expected) < expected) {
      // The bus went back to the committed offset (a rebalance that kept this partition, or a
      // consumer restart): what we buffered comes again. Write or drop it first, as on revocation.
      await forget(batch.topic, batch.partition, `redelivered from offset ${batch.messages[0]!.offset}`);
    }
    const done = committedNext.get(key) ?? 0;
    const messages = batch.messages.filter((message) => message.offset >= done);
    const first = messages[0];
    if (!first) return;
    await checkJournal(batch.topic, batch.partition, first.offset);
    for (const message of messages) {
      const full = batcher.add(
        batch.topic,
        batch.partition,
        message.offset,
        toItem(dataset, batch.topic, message),
        estimateBytes(message),
        now(),
      );
      if (full) enqueue(full);
    }
    positions.set(key, messages.at(-1)!.offset + 1);
    relieveMemory();
    metrics.bufferedBytes.set(bufferedBytes());
  }

  /** Waits for the partition's running flushes, then drops what is left unwritten and its replay state. */
  async function forget(topic: string, partition: number, why: string): Promise<void> {
    const key = keyOf(topic, partition);
    const queue = queues.get(key);
    await queue?.settled();
    const dropped = [...(queue?.clear() ?? []), ...[batcher.drop(topic, partition)].filter((batch) => batch !== undefined)];
    checked.delete(key);
    positions.delete(key);
    const records = dropped.reduce((sum, batch) => sum + batch.items.length, 0);
    if (records > 0) log.info({ topic, partition, records, why }, 'Dropped unwritten records; they are read again from the bus');
    relieveMemory();
  }

  async function revoke(topic: string, partitions: number[]): Promise<void> {
    await Promise.all(
      partitions.map((partition) =>
        withLock(keyOf(topic, partition), async () => {
          await forget(topic, partition, 'revoked');
          committedNext.delete(keyOf(topic, partition));
        }),
      ),
    );
  }

  async function revokeAll(partitions: TopicPartition[]): Promise<void> {
    const topics = new Set(partitions.map((tp) => tp.topic));
    await Promise.all(
      [...topics].map((topic) =>
        revoke(
          topic,
          partitions.filter((tp) => tp.topic === topic).map((tp) => tp.partition),
        ),
      ),
    );
  }

  /** Hands every buffered batch to its queue and waits until the queues are empty or failing. */
  async function flushAll(): Promise<void> {
    for (const batch of batcher.unpinned()) {
      const taken = batcher.take(batch.topic, batch.partition);
      if (taken) enqueue(taken);
    }
    await Promise.all(queued().map((queue) => queue.run()));
  }

  function tick(): void {
    for (const batch of batcher.due(now(), config.flushIntervalMs)) {
      const taken = batcher.take(batch.topic, batch.partition);
      if (taken) enqueue(taken);
    }
  }

  /** One scheduled compaction pass over every day folder; skipped while the previous one runs. */
  function compactLake(): void {
    compacting ??= (async () => {
      try {
        compactor ??= await Compactor.open({
          store,
          log,
          metrics: registry,
          targetBytes: config.compactTargetBytes,
          graceMs: config.compactGraceMs,
          now,
        });
        for (const dataset of datasets) {
          for (const folder of await compactor.dayFolders(dataset.folder)) {
            if (state !== 'running') return;
            await compactor.compactDay(folder);
          }
        }
      } catch (error) {
        log.warn({ err: messageOf(error) }, 'Compaction pass failed; the next pass continues it');
      }
    })().finally(() => (compacting = undefined));
  }

  async function refreshLag(): Promise<void> {
    const next: Record<string, number> = {};
    for (const dataset of datasets) {
      const [ends, committed] = await Promise.all([bus.endOffsets(dataset.topic), bus.committedOffsets(config.kafkaGroup, dataset.topic)]);
      for (const [partition, end] of ends) {
        const value = Math.max(0, end - (committed.get(partition) ?? 0));
        next[keyOf(dataset.topic, partition)] = value;
        metrics.consumerLag.set({ topic: dataset.topic, partition: String(partition) }, value);
      }
    }
    lag = next;
  }

  async function publishStatus(): Promise<void> {
    await refreshLag().catch((error: unknown) => log.debug({ err: messageOf(error) }, 'Could not read consumer lag'));
    metrics.bufferedBytes.set(bufferedBytes());
    await board.publish('processor', status());
  }

  function status(): ProcessorStatus {
    return {
      part: 'processor',
      instance,
      updatedAt: now(),
      ...totals,
      bufferedRecords: batcher.bufferedRecords + queued().reduce((sum, queue) => sum + queue.records, 0),
      bufferedBytes: bufferedBytes(),
      lastFlushAt,
      lastFlushMs,
      lastError,
      lag: { ...lag },
    };
  }

  /** Everything published before the call has reached a batch (or was committed earlier). */
  async function caughtUp(ends: Map<string, Map<number, number>>): Promise<boolean> {
    for (const [topic, offsets] of ends) {
      const committed = await bus.committedOffsets(config.kafkaGroup, topic);
      for (const [partition, end] of offsets) {
        const consumed = Math.max(positions.get(keyOf(topic, partition)) ?? 0, committed.get(partition) ?? 0);
        if (consumed < end) return false;
      }
    }
    return true;
  }

  return {
    async start() {
      if (state !== 'new') throw new LakeError('BUS_CLOSED', `cannot start a processor that is ${state}`);
      encoder = await ParquetEncoder.open();
      writer = new LakeWriter(store, encoder, journal, log, options.retry, () => setPaused('store', true));
      state = 'running';
      const byTopic = new Map(datasets.map((dataset) => [dataset.topic, dataset]));
      consumer = await bus.consume({
        topics: [...byTopic.keys()],
        group: config.kafkaGroup,
        from: 'earliest',
        onBatch: (batch) => {
          const handled = handle(byTopic.get(batch.topic)!, batch);
          handlers.add(handled);
          return handled.finally(() => handlers.delete(handled));
        },
        onRevoked: (partitions) => revokeAll(partitions),
      });
      timers.push(setInterval(tick, Math.max(10, Math.min(1_000, Math.floor(config.flushIntervalMs / 4)))));
      timers.push(setInterval(() => void publishStatus(), options.statusIntervalMs ?? 2_000));
      if ((config.compactIntervalMs ?? 0) > 0) timers.push(setInterval(compactLake, config.compactIntervalMs));
      for (const timer of timers) timer.unref();
      log.info({ topics: datasets.map((dataset) => dataset.topic), group: config.kafkaGroup }, 'Processor started');
      void publishStatus();
    },

    async drain(timeoutMs = 30_000) {
      const ends = new Map<string, Map<number, number>>();
      for (const dataset of datasets) ends.set(dataset.topic, await bus.endOffsets(dataset.topic));
      const deadline = Date.now() + timeoutMs;
      while (!(await caughtUp(ends))) {
        if (Date.now() > deadline) {
          log.warn({ timeoutMs }, 'Drain timed out before every published record was consumed; writing what arrived');
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await flushAll();
      await publishStatus();
    },

    stop() {
      stopping ??= (async () => {
        if (state === 'new') {
          state = 'stopped';
          return;
        }
        state = 'stopping';
        for (const timer of timers) clearInterval(timer);
        consumer?.setPaused(true);
        await Promise.allSettled([...handlers]);
        await flushAll();
        const unwritten = queued().filter((queue) => queue.blocked);
        for (const queue of unwritten) {
          const first = queue.batches[0];
          log.error(
            { topic: first?.topic, partition: first?.partition, fromOffset: first?.firstOffset, records: queue.records },
            'Stopping with records not written; they stay uncommitted and are read again on restart',
          );
          queue.clear();
        }
        for (const batch of batcher.all())
          log.warn(
            { topic: batch.topic, partition: batch.partition, records: batch.items.length },
            'Stopping with a replay batch not yet complete; it stays uncommitted',
          );
        await consumer?.close();
        await publishStatus();
        await compacting;
        await compactor?.close();
        await encoder?.close();
        state = 'stopped';
        log.info({ ...totals }, 'Processor stopped');
      })();
      return stopping;
    },

    status,
  };
}

import { hostname } from 'node:os';
import { CATALOG_RACE } from '../core/adapters/ducklake/session.ts';
import type { LakeLocation } from '../core/adapters/select.ts';
import { INGESTED, type IngestedDataset } from '../core/datasets/index.ts';
import { LakeError, messageOf } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Bus, Consumer, MessageBatch, TopicPartition } from '../core/ports/bus.ts';
import type { Cache } from '../core/ports/cache.ts';
import type { ProcessorStatus } from '../core/records/status.ts';
import { topicName } from '../core/records/topics.ts';
import { StatusBoard } from '../core/status-board.ts';
import { describeRanges } from './commit.ts';
import type { ProcessorConfig } from './config.ts';
import { FlushWindow, keyOf, type Flush } from './flush-window.ts';
import { LakeWriter, type StagingReport } from './lake-writer.ts';
import { processorMetrics } from './processor-metrics.ts';

/** The settings the processor reads. */
export type ProcessorSettings = Pick<
  ProcessorConfig,
  | 'flushIntervalMs'
  | 'flushMaxRecords'
  | 'maxBufferedBytes'
  | 'kafkaGroup'
  | 'kafkaTopic'
  | 'deadLetterTopic'
  | 'alertsTopic'
  | 'tradesTopic'
  | 'gapsTopic'
  | 'writerMemoryLimit'
  | 'writerThreads'
>;

export interface ProcessorOptions {
  bus: Bus;
  lake: LakeLocation;
  config: ProcessorSettings;
  log: Logger;
  metrics: Metrics;
  cache: Cache;
  /** The clock, epoch ms: window ages and the "absurd future" check use it. */
  now?: () => number;
  /** How often the status is published, ms (default 2000). */
  statusIntervalMs?: number;
  /** Waits between attempts at a failing commit: doubled from `minMs` up to `maxMs`, with jitter. */
  retry?: { minMs: number; maxMs: number };
}

/** A running processor. */
export interface Processor {
  /** Opens the lake, joins the consumer group and starts consuming every dataset topic. */
  start(): Promise<void>;
  /** Commits what was consumed, leaves the group, closes the lake. What cannot be committed is read again by the next owner. */
  stop(): Promise<void>;
  /** Waits until everything published so far was consumed (or `timeoutMs` passed), then commits it. */
  drain(timeoutMs?: number): Promise<void>;
  status(): ProcessorStatus;
}

/**
 * The processor, as a chain of named steps:
 *   consume (one group membership for every dataset topic, each partition started at the lake's
 *   offset) -> window (the messages since the last flush, per partition) -> write (parse and
 *   validate, deduplicate, commit rows, rollups, dead letters and offsets in one lake
 *   transaction) -> acknowledge (the bus's committed offsets, for lag).
 * Consuming the next window overlaps writing the previous one; `maxBufferedBytes` bounds both.
 */
export function createProcessor(options: ProcessorOptions): Processor {
  const { bus, config } = options;
  const log = options.log.child({ component: 'processor' });
  const now = options.now ?? Date.now;
  const metrics = processorMetrics(options.metrics);
  const board = new StatusBoard(options.cache);
  const retry = options.retry ?? { minMs: 200, maxMs: 10_000 };
  const byTopic = new Map<string, IngestedDataset>(INGESTED.map((dataset) => [topicName(config, dataset.topic), dataset]));
  const window = new FlushWindow();
  const limits = { maxRecords: config.flushMaxRecords, maxAgeMs: config.flushIntervalMs, maxBytes: config.maxBufferedBytes / 2 };
  const instance = `${hostname()}-${process.pid}`;
  const totals = { recordsWritten: 0, duplicatesDropped: 0, deadLettered: 0, commits: 0 };
  const duplicatesByDataset: Record<string, number> = {};
  let writer: LakeWriter | undefined;
  let consumer: Consumer | undefined;
  let state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  let writing: Flush | undefined;
  let flushing: Promise<void> | undefined;
  let lastFlushAt: number | null = null;
  let lastFlushMs: number | null = null;
  let lastError: string | null = null;
  let lag: Record<string, number> = {};
  let stopping: Promise<void> | undefined;
  const positions = new Map<string, number>();
  /** The bus commits of committed flushes still under way: a stop waits for them. */
  let busCommits: Promise<void> = Promise.resolve();
  const roomWaiters: (() => void)[] = [];
  const timers: NodeJS.Timeout[] = [];

  const buffered = () => window.bytes + (writing?.bytes ?? 0);

  /** Step 1, consume: a delivered batch joins the window; past the memory cap the bus waits (backpressure). */
  async function consume(batch: MessageBatch): Promise<void> {
    if (state !== 'running') throw new LakeError('BUS_CLOSED', `the processor is ${state}; ${keyOf(batch)} will be delivered again`);
    window.add(batch, now());
    const last = batch.messages.at(-1);
    if (last) positions.set(keyOf(batch), last.offset + 1);
    metrics.bufferedBytes.set(buffered());
    if (window.due(now(), limits)) void flush();
    while (buffered() >= config.maxBufferedBytes && state === 'running') {
      await new Promise<void>((resolve) => roomWaiters.push(resolve));
    }
  }

  /** Partitions given to us start at the lake's offsets; reading them may fail (the lake is down): then the first commit finds out. */
  async function assigned(partitions: TopicPartition[]): Promise<Map<string, number>> {
    let offsets = new Map<string, number>();
    try {
      offsets = await writer!.offsets(partitions);
    } catch (error) {
      log.warn({ err: messageOf(error) }, 'Could not read the lake offsets of assigned partitions; their first commit is fenced instead');
    }
    const ends = await endOffsets(partitions);
    const starts = new Map<string, number>();
    for (const tp of partitions) {
      const offset = offsets.get(keyOf(tp));
      const end = ends.get(keyOf(tp));
      if (offset !== undefined && end !== undefined && offset > end) {
        // Not the partition the lake's offset counts: an in-memory bus of an earlier process (npm start
        // again), or a topic created again. All of it is new; the first commit still moves the lake's offset.
        log.warn(
          { partition: keyOf(tp), lakeOffset: offset, busEnd: end },
          'The bus partition ends before the lake offset (a new in-memory bus, or a topic created again); reading it from its start',
        );
        window.start(tp, offset, 0);
        starts.set(`${tp.topic}:${tp.partition}`, 0);
        continue;
      }
      window.start(tp, offset);
      if (offset !== undefined) starts.set(`${tp.topic}:${tp.partition}`, offset);
    }
    log.info(
      { partitions: partitions.map(keyOf), offsets: Object.fromEntries(offsets) },
      'Partitions assigned; starting at the lake offsets',
    );
    recordOnBus(
      partitions.flatMap((tp) => {
        const next = starts.get(`${tp.topic}:${tp.partition}`);
        return next ? [{ ...tp, nextOffset: next }] : [];
      }),
    );
    return starts;
  }

  /** The bus's end offset of each partition (none for a topic whose ends cannot be read now). */
  async function endOffsets(partitions: readonly TopicPartition[]): Promise<Map<string, number>> {
    const ends = new Map<string, number>();
    for (const topic of new Set(partitions.map((tp) => tp.topic))) {
      const found = await bus.endOffsets(topic).catch(() => new Map<number, number>());
      for (const [partition, end] of found) ends.set(keyOf({ topic, partition }), end);
    }
    return ends;
  }

  /** Revoked partitions leave the window; a commit in flight finishes first, so the next owner reads its offsets. */
  async function revoked(partitions: TopicPartition[]): Promise<void> {
    await flushing?.catch(() => undefined);
    for (const tp of partitions) {
      window.reset(tp, null);
      positions.delete(keyOf(tp));
    }
    wakeConsumers();
  }

  /** Step 2 and 3, window and write: takes the window and commits it, again and again until it is in the lake. */
  function flush(): Promise<void> {
    flushing ??= (async () => {
      try {
        while (window.records > 0 && writer) {
          const taken = window.take();
          writing = taken;
          await writeUntilDone(taken);
          writing = undefined;
          wakeConsumers();
          if (!window.due(now(), limits) && state === 'running') break;
        }
      } finally {
        writing = undefined;
        flushing = undefined;
        wakeConsumers();
      }
    })();
    return flushing;
  }

  async function writeUntilDone(taken: Flush): Promise<void> {
    let pending = taken;
    for (let attempt = 1; pending.ranges.length > 0; attempt += 1) {
      const started = performance.now();
      try {
        const outcome = await writer!.write(pending, now());
        if (!outcome.ok) {
          pending = await rewind(pending, outcome.fenced);
          continue;
        }
        acknowledge(pending, outcome.writes, outcome.staging, performance.now() - started);
        return;
      } catch (error) {
        lastError = messageOf(error);
        metrics.commitFailures.inc();
        if (state !== 'running' && attempt >= 3) {
          log.error(
            { ranges: describeRanges(pending.ranges), records: pending.records, err: lastError },
            'Stopping with records not committed; the next owner reads them again from the lake offsets',
          );
          return;
        }
        const waitMs = Math.min(retry.maxMs, retry.minMs * 2 ** Math.min(attempt - 1, 10)) * (0.5 + Math.random());
        // A race with maintenance or another writer that outlasted the writer's own retries is
        // routine; a lake that refuses writes, or a race that goes on, needs a person.
        const routine = attempt < 3 && CATALOG_RACE.test(lastError);
        log[routine ? 'warn' : 'error'](
          { ranges: describeRanges(pending.ranges), attempt, retryInMs: Math.round(waitMs), err: lastError },
          'Failed to commit a flush; trying again (consumption pauses at the memory cap meanwhile)',
        );
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        // Partitions taken from us meanwhile belong to their next owner now; partitions another
        // writer committed meanwhile (the failure may have been that conflict) are read again.
        pending = { ...pending, ranges: pending.ranges.filter((range) => window.owns(range.tp)) };
        pending = await rewind(pending, await moved(pending).catch(() => []));
      }
    }
  }

  /** The partitions of a flush whose lake offset is no longer where the flush starts. */
  async function moved(pending: Flush): Promise<TopicPartition[]> {
    const offsets = await writer!.offsets(pending.ranges.map((range) => range.tp));
    return pending.ranges.filter((range) => offsets.get(keyOf(range.tp)) !== range.from).map((range) => range.tp);
  }

  /** Fenced partitions moved under us: restart them at the lake's offset, and write the rest again. */
  async function rewind(pending: Flush, fenced: TopicPartition[]): Promise<Flush> {
    if (fenced.length === 0) return pending;
    const offsets = await writer!.offsets(fenced);
    for (const tp of fenced) {
      const offset = offsets.get(keyOf(tp));
      window.reset(tp, offset);
      if (offset !== undefined) consumer?.seek(tp, offset);
      log.warn(
        { partition: keyOf(tp), lakeOffset: offset },
        'Another writer committed this partition; reading it again from the lake offset',
      );
    }
    const moved = new Set(fenced.map(keyOf));
    const ranges = pending.ranges.filter((range) => !moved.has(keyOf(range.tp)));
    return { ranges, records: ranges.reduce((sum, range) => sum + range.messages.length, 0), bytes: pending.bytes };
  }

  /** Step 4, acknowledge: figures, status, and the bus's committed offsets (for lag; the lake's offsets are the truth). */
  function acknowledge(
    done: Flush,
    writes: { dataset: string; rows: number; duplicates: number }[],
    staging: StagingReport,
    ms: number,
  ): void {
    const { rejected } = staging;
    metrics.messagesParsed.inc({ path: 'bulk' }, staging.bulk);
    metrics.messagesParsed.inc({ path: 'exact' }, staging.exact);
    if (staging.bulkFailures.length > 0) {
      log.warn({ failures: staging.bulkFailures }, 'The bulk parse failed; its messages were parsed one by one instead');
    }
    for (const write of writes) {
      metrics.recordsWritten.inc({ dataset: write.dataset }, write.rows);
      if (write.duplicates > 0) metrics.duplicatesDropped.inc({ dataset: write.dataset }, write.duplicates);
      totals.recordsWritten += write.rows;
      totals.duplicatesDropped += write.duplicates;
      if (write.duplicates > 0) duplicatesByDataset[write.dataset] = (duplicatesByDataset[write.dataset] ?? 0) + write.duplicates;
    }
    metrics.deadLetters.inc(rejected);
    metrics.flushSeconds.observe(ms / 1000);
    metrics.batchRecords.observe(done.records);
    totals.deadLettered += rejected;
    totals.commits += 1;
    lastFlushAt = now();
    lastFlushMs = Math.round(ms);
    lastError = null;
    const owned = done.ranges.filter((range) => window.owns(range.tp));
    const recorded = consumer
      ?.commit(owned.map((range) => ({ ...range.tp, nextOffset: range.to })))
      .catch((error: unknown) => log.debug({ err: messageOf(error) }, 'Could not record the committed offsets on the bus'));
    busCommits = Promise.all([busCommits, recorded]).then(() => undefined);
    log.debug({ ranges: describeRanges(done.ranges), records: done.records, ms: lastFlushMs }, 'Committed a flush');
  }

  /**
   * Records the lake's offsets of newly assigned partitions as the group's committed offsets, once
   * the assignment is in force: when the lake already holds everything (the last owner's commit on
   * the bus lost to a rebalance), nothing more is consumed, and the bus would otherwise show lag
   * for records that are in the lake.
   */
  function recordOnBus(commits: { topic: string; partition: number; nextOffset: number }[]): void {
    if (commits.length === 0) return;
    const recorded = (async () => {
      for (let wait = 0; !consumer && wait < 100 && state === 'running'; wait++) await new Promise((resolve) => setTimeout(resolve, 50));
      await consumer?.commit(commits.filter((commit) => window.owns(commit)));
    })().catch((error: unknown) => log.debug({ err: messageOf(error) }, 'Could not record the lake offsets on the bus'));
    busCommits = Promise.all([busCommits, recorded]).then(() => undefined);
  }

  function wakeConsumers(): void {
    metrics.bufferedBytes.set(buffered());
    if (buffered() >= config.maxBufferedBytes && state === 'running') return;
    for (const wake of roomWaiters.splice(0)) wake();
  }

  function tick(): void {
    if (window.due(now(), limits)) void flush();
  }

  async function refreshLag(): Promise<void> {
    const next: Record<string, number> = {};
    for (const topic of byTopic.keys()) {
      const [ends, committed] = await Promise.all([bus.endOffsets(topic), bus.committedOffsets(config.kafkaGroup, topic)]);
      for (const [partition, end] of ends) {
        const value = Math.max(0, end - (committed.get(partition) ?? 0));
        next[`${topic}/${partition}`] = value;
        metrics.consumerLag.set({ topic, partition: String(partition) }, value);
      }
    }
    lag = next;
  }

  async function publishStatus(): Promise<void> {
    await refreshLag().catch((error: unknown) => log.debug({ err: messageOf(error) }, 'Could not read consumer lag'));
    await board.publish('processor', status()).catch((error: unknown) => log.debug({ err: messageOf(error) }, 'Could not publish status'));
  }

  function status(): ProcessorStatus {
    return {
      part: 'processor',
      instance,
      updatedAt: now(),
      ...totals,
      duplicatesDroppedByDataset: { ...duplicatesByDataset },
      bufferedRecords: window.records + (writing?.records ?? 0),
      bufferedBytes: buffered(),
      lastFlushAt,
      lastFlushMs,
      lastError,
      lag: { ...lag },
    };
  }

  /** Everything published before the call has been consumed by this processor (or was in the lake before). */
  async function caughtUp(ends: Map<string, Map<number, number>>): Promise<boolean> {
    const owned = new Set(consumer?.assignment().map(keyOf) ?? []);
    for (const [topic, offsets] of ends) {
      const committed = await bus.committedOffsets(config.kafkaGroup, topic);
      for (const [partition, end] of offsets) {
        const key = `${topic}/${partition}`;
        const consumed = Math.max(positions.get(key) ?? 0, committed.get(partition) ?? 0);
        if (consumed < end && (owned.has(key) || owned.size === 0)) return false;
      }
    }
    return true;
  }

  return {
    async start() {
      if (state !== 'new') throw new LakeError('BUS_CLOSED', `cannot start a processor that is ${state}`);
      writer = await LakeWriter.open(options.lake, byTopic, { memoryLimit: config.writerMemoryLimit, threads: config.writerThreads });
      state = 'running';
      try {
        consumer = await bus.consume({
          topics: [...byTopic.keys()],
          group: config.kafkaGroup,
          from: 'earliest',
          onAssigned: assigned,
          onRevoked: revoked,
          onBatch: consume,
        });
      } catch (error) {
        state = 'stopped';
        await writer.close();
        throw error;
      }
      timers.push(setInterval(tick, Math.max(10, Math.min(250, Math.floor(config.flushIntervalMs / 4)))));
      timers.push(setInterval(() => void publishStatus(), options.statusIntervalMs ?? 2_000));
      for (const timer of timers) timer.unref();
      log.info({ topics: [...byTopic.keys()], group: config.kafkaGroup }, 'Processor started');
      void publishStatus();
    },

    async drain(timeoutMs = 30_000) {
      const ends = new Map<string, Map<number, number>>();
      for (const topic of byTopic.keys()) ends.set(topic, await bus.endOffsets(topic));
      const deadline = Date.now() + timeoutMs;
      while (!(await caughtUp(ends))) {
        if (Date.now() > deadline) {
          log.warn({ timeoutMs }, 'Drain timed out before every published record was consumed; committing what arrived');
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      while (window.records > 0 || flushing) await (flushing ?? flush());
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
        wakeConsumers();
        while (window.records > 0 || flushing) await (flushing ?? flush());
        await busCommits;
        await consumer?.close();
        await publishStatus();
        state = 'stopped';
        await writer?.close();
        log.info({ ...totals }, 'Processor stopped');
      })();
      return stopping;
    },

    status,
  };
}

import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { LocalObjectStore } from '../core/adapters/local-fs/object-store.ts';
import { MemoryBus } from '../core/adapters/memory/bus.ts';
import { MemoryCache } from '../core/adapters/memory/cache.ts';
import { LakeError } from '../core/errors.ts';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import type { Bus, ConsumeOptions, Consumer } from '../core/ports/bus.ts';
import type { ObjectStore } from '../core/ports/object-store.ts';
import { StatusBoard } from '../core/status-board.ts';
import { uniqueName, waitFor } from '../core/testing/wait.ts';
import { createProcessor, type Processor, type ProcessorOptions, type ProcessorSettings } from './processor.ts';
import { messagesOf, openLakeReader, price, tempLake } from './testing/lake-reader.ts';
import { liveParquetSql } from '../core/lake-layout.ts';

const DAY = Date.UTC(2026, 10, 22);
const NOW = DAY + 12 * 3_600_000;

interface Setup {
  bus: MemoryBus;
  store: LocalObjectStore;
  root: string;
  settings: ProcessorSettings;
  open(options?: Partial<ProcessorOptions> & { settings?: Partial<ProcessorSettings> }): Processor;
}

let setup: Setup;
let cleanups: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  const lake = await tempLake();
  const bus = new MemoryBus({ partitions: 2, retryDelayMs: 20 });
  const store = new LocalObjectStore(lake.root);
  const settings: ProcessorSettings = {
    flushIntervalMs: 60_000,
    flushMaxRecords: 100_000,
    maxBufferedBytes: 64 * 1024 * 1024,
    kafkaGroup: uniqueName('group'),
    kafkaTopic: uniqueName('prices'),
    deadLetterTopic: uniqueName('dead'),
  };
  cleanups = [lake.cleanup, () => bus.close()];
  setup = {
    bus,
    store,
    root: lake.root,
    settings,
    open(options = {}) {
      const processor = createProcessor({
        bus,
        store,
        cache: new MemoryCache(),
        log: silentLogger,
        metrics: new Metrics(),
        now: () => NOW,
        retry: { retries: 3, minTimeoutMs: 5, maxTimeoutMs: 20 },
        ...options,
        config: { ...settings, ...options.settings },
      });
      cleanups.unshift(() => processor.stop());
      return processor;
    },
  };
});

afterEach(async () => {
  for (const cleanup of cleanups) await cleanup();
});

const readers: Awaited<ReturnType<typeof openLakeReader>>[] = [];
async function reader() {
  const opened = await openLakeReader(setup.root);
  readers.push(opened);
  return opened;
}
after(() => readers.forEach((opened) => opened.close()));

async function count(sql: string): Promise<number> {
  const rows = await (await reader()).rows(sql);
  return Number(Object.values(rows[0]!)[0]);
}

async function keys(prefix: string): Promise<string[]> {
  return (await setup.store.list(prefix)).map((object) => object.key);
}

describe('processor', () => {
  it('writes every published record to the lake, in the folder of its UTC event day', async () => {
    const processor = setup.open();
    await processor.start();
    const records = [
      price('BTC', DAY - 1),
      price('ETH', DAY - 1),
      price('BTC', DAY),
      price('SOL', DAY + 5_000),
      price('BTC', DAY - 3 * 86_400_000),
    ];
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records));
    await processor.drain();

    const lake = await reader();
    const rows = await lake.rows(`SELECT id, year, month, day FROM ${lake.dataset('prices')} ORDER BY id`);
    assert.equal(rows.length, records.length);
    const folderOf = new Map(rows.map((row) => [row.id, `${row.year}-${row.month}-${row.day}`]));
    assert.equal(folderOf.get(records[0]!.id), '2026-11-21', '23:59:59.999 stays on its day');
    assert.equal(folderOf.get(records[2]!.id), '2026-11-22', '00:00:00.000 starts the next day');
    assert.equal(folderOf.get(records[4]!.id), '2026-11-19', 'a late record lands in its own day');
    for (const key of await keys('prices/')) {
      assert.match(key, /^prices\/year=\d{4}\/month=\d{2}\/day=\d{2}\/part-.+-p\d+-o\d{12}-o\d{12}\.parquet$/);
    }
    assert.ok((await keys('prices/year=2026/month=11/day=21/')).length >= 1);
  });

  it('writes Snappy Parquet with the exact column types, sorted by symbol and ts, without hive columns', async () => {
    const processor = setup.open({ settings: { flushMaxRecords: 4 } });
    await processor.start();
    const records = [price('SOL', DAY + 3), price('BTC', DAY + 2), price('ETH', DAY + 1), price('BTC', DAY + 1)];
    // One key keeps all four in one partition, so they fill one batch and one file.
    await setup.bus.publish(
      setup.settings.kafkaTopic,
      records.map((record) => ({ key: 'same', value: JSON.stringify(record) })),
    );
    await processor.drain();
    const [key] = await keys('prices/');
    assert.ok(key);
    const lake = await reader();
    const file = lake.file(key);

    const codecs = await lake.rows(`SELECT DISTINCT compression FROM parquet_metadata(${file})`);
    assert.deepEqual(codecs, [{ compression: 'SNAPPY' }]);
    const columns = await lake.rows(`DESCRIBE SELECT * FROM read_parquet(${file}, hive_partitioning=false)`);
    assert.deepEqual(
      columns.map((column) => `${column.column_name} ${column.column_type}`),
      [
        'id VARCHAR',
        'ts TIMESTAMP',
        'symbol VARCHAR',
        'source VARCHAR',
        'price_usd DOUBLE',
        'volume_24h_usd DOUBLE',
        'market_cap_usd DOUBLE',
        'change_24h_pct DOUBLE',
        'ingested_at TIMESTAMP',
      ],
    );
    const inFile = await lake.rows(`SELECT name FROM parquet_schema(${file}) WHERE name IN ('year', 'month', 'day')`);
    assert.deepEqual(inFile, [], 'the hive columns come from the path only');
    const ts = await lake.rows(`SELECT logical_type FROM parquet_schema(${file}) WHERE name = 'ts'`);
    assert.match(String(ts[0]!.logical_type), /MICROS=MicroSeconds/);
    const rows = await lake.rows(
      `SELECT symbol, epoch_ms(ts) AS ts_ms, epoch_ms(ingested_at) AS ingested_ms, market_cap_usd FROM read_parquet(${file}, hive_partitioning=false)`,
    );
    assert.deepEqual(
      rows.map((row) => `${row.symbol}@${row.ts_ms}`),
      [`BTC@${DAY + 1}`, `BTC@${DAY + 2}`, `ETH@${DAY + 1}`, `SOL@${DAY + 3}`],
    );
    assert.equal(Number(rows[0]!.ingested_ms), DAY + 101, 'the same instant in UTC comes back');
    assert.equal(rows[0]!.market_cap_usd, null);
  });

  it('sends messages that are not JSON, invalid or absurdly timed to dead-letter with their reason and origin', async () => {
    const processor = setup.open();
    await processor.start();
    const topic = setup.settings.kafkaTopic;
    await setup.bus.publish(topic, [
      { key: 'a', value: 'not json {' },
      { key: 'a', value: JSON.stringify({ ...price('BTC', DAY), price_usd: -1 }) },
      { key: 'a', value: JSON.stringify(price('BTC', Date.UTC(2008, 0, 1))) },
      { key: 'a', value: JSON.stringify(price('BTC', NOW + 2 * 86_400_000)) },
      { key: 'a', value: JSON.stringify(price('BTC', DAY)) },
    ]);
    const scraperReject = { at: DAY + 7, stage: 'scraper', source: 'kraken', reason: 'price_usd: expected number', payload: '{"p":"x"}' };
    await setup.bus.publish(setup.settings.deadLetterTopic, [{ key: 'kraken', value: JSON.stringify(scraperReject) }]);
    await processor.drain();

    const lake = await reader();
    assert.equal(await count(`SELECT count(*) FROM ${lake.dataset('prices')}`), 1);
    const dead = await lake.rows(`SELECT stage, source, reason, payload FROM ${lake.dataset('dead-letter')} ORDER BY stage, source`);
    assert.equal(dead.length, 5);
    assert.deepEqual(dead.at(-1), { stage: 'scraper', source: 'kraken', reason: scraperReject.reason, payload: scraperReject.payload });
    const reasons = dead
      .filter((row) => row.stage === 'processor')
      .map((row) => `${row.source} ${row.reason}`)
      .join('\n');
    assert.match(reasons, new RegExp(`^${topic}/\\d+/0 not JSON`, 'm'));
    assert.match(reasons, /price_usd: Too small/);
    assert.match(reasons, /before 2009-01-03/);
    assert.match(reasons, /more than a day ahead/);
    assert.equal(processor.status().deadLettered, 4);
  });

  it('flushes a batch as soon as it reaches flushMaxRecords', async () => {
    const processor = setup.open({ settings: { flushMaxRecords: 10 } });
    await processor.start();
    const records = Array.from({ length: 25 }, (_, i) => price('BTC', DAY + i));
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records));

    const files = await waitFor(
      async () => ((await keys('prices/')).length === 2 ? keys('prices/') : undefined),
      5_000,
      'two full batches',
    );
    assert.deepEqual(
      files.map((key) => key.replace(/.*-o(\d+)-o(\d+)\.parquet$/, '$1-$2')),
      ['000000000000-000000000009', '000000000010-000000000019'],
    );
    const committed = async () => [...(await setup.bus.committedOffsets(setup.settings.kafkaGroup, setup.settings.kafkaTopic)).values()];
    await waitFor(async () => (await committed()).join() === '20', 5_000, 'offset 20 committed');
    assert.equal(processor.status().bufferedRecords, 5);
  });

  it('flushes a partial batch when its oldest record is flushIntervalMs old on the injected clock', async () => {
    let clock = NOW;
    const processor = setup.open({ now: () => clock, settings: { flushIntervalMs: 40 } });
    await processor.start();
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf([price('BTC', DAY), price('BTC', DAY + 1)]));
    await waitFor(() => processor.status().bufferedRecords === 2, 2_000, 'records buffered');
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.deepEqual(await keys('prices/'), [], 'nothing is written while the clock stands still');
    clock += 40;
    await waitFor(async () => (await keys('prices/')).length === 1, 2_000, 'the aged batch written');
    await waitFor(() => processor.status().bufferedRecords === 0, 2_000, 'buffer empty');
  });

  it('writes buffered records and commits them on stop', async () => {
    const processor = setup.open();
    await processor.start();
    const records = Array.from({ length: 30 }, (_, i) => price(['BTC', 'ETH', 'SOL'][i % 3]!, DAY + i));
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records));
    await waitFor(() => processor.status().bufferedRecords === 30, 2_000, 'records buffered');
    await processor.stop();

    const lake = await reader();
    assert.equal(await count(`SELECT count(*) FROM ${lake.dataset('prices')}`), 30);
    const ends = await setup.bus.endOffsets(setup.settings.kafkaTopic);
    const committed = await setup.bus.committedOffsets(setup.settings.kafkaGroup, setup.settings.kafkaTopic);
    for (const [partition, end] of ends) if (end > 0) assert.equal(committed.get(partition), end);
  });

  it('leaves nothing behind after drain: every published record is in the lake and committed', async () => {
    const processor = setup.open({ settings: { flushMaxRecords: 7 } });
    await processor.start();
    const records = Array.from({ length: 200 }, (_, i) => price(`S${i % 9}`, DAY + i));
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records.slice(0, 120)));
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records.slice(120)));
    await processor.drain();

    const lake = await reader();
    assert.equal(await count(`SELECT count(DISTINCT id) FROM ${lake.dataset('prices')}`), 200);
    assert.equal(await count(`SELECT count(*) FROM ${lake.dataset('prices')}`), 200);
    const status = processor.status();
    assert.equal(status.bufferedRecords, 0);
    assert.ok(
      Object.values(status.lag).every((lag) => lag === 0),
      JSON.stringify(status.lag),
    );
    assert.equal(status.recordsWritten, 200);
  });

  it('replays a flush that was stored but not committed into the same files, so each record is in the lake once', async () => {
    // The first processor stores its files, then "crashes" before every commit.
    const crashing = withFailingCommits(setup.bus);
    const first = setup.open({ bus: crashing.bus, now: runningClock(), settings: { flushIntervalMs: 30 } });
    await first.start();
    const records = Array.from({ length: 40 }, (_, i) => price(`S${i % 5}`, DAY + i));
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records.slice(0, 30)));
    const partitions = [...(await setup.bus.endOffsets(setup.settings.kafkaTopic)).values()].filter((end) => end > 0).length;
    await waitFor(async () => (await keys('prices/')).length === partitions, 5_000, 'files of the first run');
    await crashing.leave();
    const filesOfFirstRun = await keys('prices/');
    const committed = await setup.bus.committedOffsets(setup.settings.kafkaGroup, setup.settings.kafkaTopic);
    assert.deepEqual(
      [...committed.values()].filter((offset) => offset > 0),
      [],
      'nothing committed past the start',
    );

    // More records arrive; the second processor would batch differently if left to itself.
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records.slice(30)));
    const second = setup.open();
    await second.start();
    await second.drain();

    const lake = await reader();
    assert.equal(await count(`SELECT count(*) FROM ${lake.dataset('prices')}`), 40);
    assert.equal(await count(`SELECT count(DISTINCT id) FROM ${lake.dataset('prices')}`), 40);
    const filesAfter = await keys('prices/');
    for (const key of filesOfFirstRun) assert.ok(filesAfter.includes(key), `${key} was overwritten, not joined by a second file`);
  });

  it('compacts the small files of each day on COMPACT_INTERVAL_MS, and readers of the live files see each record once', async () => {
    const metrics = new Metrics();
    const processor = setup.open({ metrics, settings: { flushMaxRecords: 10, compactIntervalMs: 50, compactGraceMs: 0 } });
    await processor.start();
    const records = Array.from({ length: 100 }, (_, i) => price(`S${i % 4}`, DAY + i));
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records));
    await processor.drain();
    await waitFor(async () => /processor_compactions_total [1-9]/.test(await metrics.text()), 5_000, 'a compaction');
    await waitFor(async () => (await keys('prices/')).every((key) => key.includes('/compacted-')), 5_000, 'the sources swept');
    assert.equal(await count(`SELECT count(DISTINCT id) FROM ${liveParquetSql(setup.root, 'prices')}`), 100);
    assert.equal(await count(`SELECT count(*) FROM ${liveParquetSql(setup.root, 'prices')}`), 100);
  });

  it('pauses consumption when buffered bytes reach maxBufferedBytes, and resumes once they are written', async () => {
    const watched = withPauseLog(setup.bus);
    const slow = withSlowPuts(setup.store, 30);
    const processor = setup.open({ bus: watched.bus, store: slow, settings: { maxBufferedBytes: 20_000 } });
    await processor.start();
    const records = Array.from({ length: 300 }, (_, i) => price(`S${i % 4}`, DAY + i));
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records));
    await processor.drain();

    assert.ok(watched.calls.includes('pause'), 'paused');
    assert.equal(watched.calls.at(-1), 'resume', `resumed last: ${watched.calls.join(',')}`);
    const lake = await reader();
    assert.equal(await count(`SELECT count(*) FROM ${lake.dataset('prices')}`), 300);
  });

  it('retries a failing store, and commits only what was written', async () => {
    const flaky = withFailingPuts(setup.store, 3);
    const processor = setup.open({ store: flaky.store });
    await processor.start();
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf([price('BTC', DAY), price('ETH', DAY)]));
    await processor.drain();
    assert.ok(flaky.failures() >= 3);
    const lake = await reader();
    assert.equal(await count(`SELECT count(*) FROM ${lake.dataset('prices')}`), 2);

    const broken = withFailingPuts(setup.store, Infinity);
    const stuckGroup = uniqueName('stuck');
    const stuck = setup.open({ store: broken.store, settings: { kafkaGroup: stuckGroup } });
    await stuck.start();
    await stuck.drain();
    await stuck.stop();
    assert.equal((await setup.bus.committedOffsets(stuckGroup, setup.settings.kafkaTopic)).size, 0, 'nothing committed');
    assert.match(stuck.status().lastError ?? '', /gave up after 4 attempts/);
  });

  it('publishes its status to the board and counts records in metrics', async () => {
    const cache = new MemoryCache();
    const metrics = new Metrics();
    const processor = setup.open({ cache, metrics });
    await processor.start();
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf([price('BTC', DAY), price('ETH', DAY)]));
    await processor.drain();
    const status = await new StatusBoard(cache).read('processor');
    assert.equal(status?.recordsWritten, 2);
    assert.ok((status?.filesWritten ?? 0) >= 1);
    const text = await metrics.text();
    assert.match(text, /processor_records_written_total\{dataset="prices"\} 2/);
    assert.match(text, /processor_consumer_lag\{topic="[^"]+",partition="0"\} 0/);
  });
});

/** The same bus, with `consume` wrapping each consumer in `wrap`. */
function wrapConsumers(bus: Bus, wrap: (consumer: Consumer) => Partial<Consumer>): Bus {
  return {
    publish: (topic, messages) => bus.publish(topic, messages),
    endOffsets: (topic) => bus.endOffsets(topic),
    committedOffsets: (group, topic) => bus.committedOffsets(group, topic),
    health: () => bus.health(),
    close: () => bus.close(),
    async consume(options: ConsumeOptions) {
      const consumer = await bus.consume(options);
      return {
        commit: (offsets) => consumer.commit(offsets),
        seek: (partition, offset) => consumer.seek(partition, offset),
        setPaused: (paused) => consumer.setPaused(paused),
        assignment: () => consumer.assignment(),
        close: () => consumer.close(),
        ...wrap(consumer),
      };
    },
  };
}

/** A bus whose consumers cannot commit and can be left without flushing: a crash after the upload. */
function withFailingCommits(bus: Bus) {
  const consumers: Consumer[] = [];
  const wrapped = wrapConsumers(bus, (consumer) => {
    consumers.push(consumer);
    return {
      // The ownership fence (a commit of offset 0 here, nothing was committed) goes through;
      // every commit that would move the offset "crashes".
      commit: async (offsets) => {
        if (offsets.every((offset) => offset.nextOffset === 0)) return consumer.commit(offsets);
        throw new LakeError('BUS_UNAVAILABLE', 'simulated crash before commit');
      },
    };
  });
  return { bus: wrapped, leave: () => Promise.all(consumers.map((consumer) => consumer.close())) };
}

/** A bus that records pause and resume calls. */
function withPauseLog(bus: Bus) {
  const calls: string[] = [];
  const wrapped = wrapConsumers(bus, (consumer) => ({
    setPaused: (paused: boolean) => {
      calls.push(paused ? 'pause' : 'resume');
      consumer.setPaused(paused);
    },
  }));
  return { bus: wrapped, calls };
}

function withStore(store: ObjectStore, put: ObjectStore['put']): ObjectStore {
  return {
    put,
    get: (key) => store.get(key),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
    health: () => store.health(),
    close: () => store.close(),
  };
}

function withSlowPuts(store: ObjectStore, delayMs: number): ObjectStore {
  return withStore(store, async (key, body) => {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    await store.put(key, body);
  });
}

function withFailingPuts(store: ObjectStore, failures: number) {
  let failed = 0;
  const wrapped = withStore(store, async (key, body) => {
    if (failed < failures) {
      failed += 1;
      throw new LakeError('STORE_UNAVAILABLE', `simulated outage writing ${key}`);
    }
    await store.put(key, body);
  });
  return { store: wrapped, failures: () => failed };
}

/** A clock that starts at NOW and runs at real speed. */
function runningClock(): () => number {
  const startedAt = Date.now();
  return () => NOW + Date.now() - startedAt;
}

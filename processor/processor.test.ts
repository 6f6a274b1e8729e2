import assert from 'node:assert/strict';
import { rename, writeFile, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { MemoryBus } from '../core/adapters/memory/bus.ts';
import { MemoryCache } from '../core/adapters/memory/cache.ts';
import type { LakeLocation } from '../core/adapters/select.ts';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { tradeRecord } from '../core/testing/trade-record.ts';
import { uniqueName, waitFor } from '../core/testing/wait.ts';
import { createProcessor, type Processor, type ProcessorOptions, type ProcessorSettings } from './processor.ts';
import { messagesOf, openLakeReader, price, tempLake } from './testing/lake-reader.ts';

const DAY = Date.UTC(2026, 10, 22);
const NOW = DAY + 12 * 3_600_000;

interface Setup {
  bus: MemoryBus;
  location: LakeLocation;
  root: string;
  settings: ProcessorSettings;
  open(options?: Partial<ProcessorOptions> & { settings?: Partial<ProcessorSettings> }): Processor;
  rows(sql: string): Promise<Record<string, unknown>[]>;
}

let setup: Setup;
let cleanups: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  const lake = await tempLake();
  const bus = new MemoryBus({ partitions: 2, retryDelayMs: 20 });
  const settings: ProcessorSettings = {
    flushIntervalMs: 60_000,
    flushMaxRecords: 100_000,
    maxBufferedBytes: 64 * 1024 * 1024,
    kafkaGroup: uniqueName('group'),
    kafkaTopic: uniqueName('prices'),
    deadLetterTopic: uniqueName('dead'),
    alertsTopic: uniqueName('alerts'),
    tradesTopic: uniqueName('trades'),
    gapsTopic: uniqueName('gaps'),
    writerMemoryLimit: '256MB',
    writerThreads: 1,
  };
  cleanups = [lake.cleanup, () => bus.close()];
  setup = {
    bus,
    location: lake.location,
    root: lake.root,
    settings,
    open(options = {}) {
      const processor = createProcessor({
        bus,
        lake: lake.location,
        cache: new MemoryCache(),
        log: silentLogger,
        metrics: new Metrics(),
        now: () => NOW,
        retry: { minMs: 5, maxMs: 20 },
        ...options,
        config: { ...settings, ...options.settings },
      });
      cleanups.unshift(() => processor.stop());
      return processor;
    },
    async rows(sql) {
      const reader = await openLakeReader(lake.location);
      try {
        return await reader.rows(sql);
      } finally {
        reader.close();
      }
    },
  };
});

afterEach(async () => {
  for (const cleanup of cleanups) await cleanup();
});

const count = async (sql: string) => Number(Object.values((await setup.rows(sql))[0]!)[0]);

describe('processor', () => {
  it('commits every published record once, partitioned by its UTC event day', async () => {
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

    const rows = await setup.rows(`SELECT id, strftime(ts, '%Y-%m-%d') AS day FROM prices ORDER BY id`);
    assert.equal(rows.length, records.length);
    const dayOf = new Map(rows.map((row) => [row.id, row.day]));
    assert.equal(dayOf.get(records[0]!.id), '2026-11-21', '23:59:59.999 stays on its day');
    assert.equal(dayOf.get(records[2]!.id), '2026-11-22', '00:00:00.000 starts the next day');
    assert.equal(dayOf.get(records[4]!.id), '2026-11-19', 'a late record lands in its own day');
    await setup.rows(`CALL ducklake_flush_inlined_data('lake')`).catch(() => undefined);
    const files = await setup.rows(`SELECT data_file FROM ducklake_list_files('lake', 'prices')`);
    for (const file of files)
      assert.match(String(file.data_file), /\/main\/prices\/year=2026\/month=11\/day=(19|21|22)\/ducklake-[^/]+\.parquet$/);
  });

  it('stores the declared column types and keeps each record once when it is published again later', async () => {
    const processor = setup.open();
    await processor.start();
    const record = price('BTC', DAY + 1);
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf([record, record]));
    await processor.drain();
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf([record, price('BTC', DAY + 2)]));
    await processor.drain();
    const columns = await setup.rows(`SELECT column_name, column_type FROM (DESCRIBE prices)`);
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
    assert.equal(await count('SELECT count(*) FROM prices'), 2);
    assert.equal(processor.status().duplicatesDropped, 2);
    const [row] = await setup.rows(`SELECT epoch_ms(ingested_at) AS ingested_ms, market_cap_usd FROM prices WHERE id = '${record.id}'`);
    assert.equal(Number(row!.ingested_ms), DAY + 101, 'the same instant in UTC comes back');
    assert.equal(row!.market_cap_usd, null);
  });

  it('sends messages that are not JSON, invalid or absurdly timed to dead letters with their reason and origin', async () => {
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

    assert.equal(await count('SELECT count(*) FROM prices'), 1);
    const dead = await setup.rows(`SELECT stage, source, reason, payload FROM dead_letters ORDER BY stage, source`);
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

  it('commits the rollups with the rows they summarise: candles equal a direct computation', async () => {
    const processor = setup.open();
    await processor.start();
    const records = Array.from({ length: 40 }, (_, i) => price(i % 3 === 0 ? 'ETH' : 'BTC', DAY + i * 7_001, i % 2 === 0 ? 'a' : 'b'));
    // Four commits, some minutes in several of them, and some records again.
    for (const slice of [
      records.slice(0, 13),
      records.slice(13, 25),
      [...records.slice(25), ...records.slice(0, 5)],
      records.slice(20, 30),
    ]) {
      await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(slice));
      await processor.drain();
    }
    const direct = await setup.rows(
      `SELECT time_bucket(INTERVAL 1 MINUTE, ts) AS minute, symbol, source, arg_min(price_usd, ts) AS open, max(price_usd) AS high,
              min(price_usd) AS low, arg_max(price_usd, ts) AS close, count(*)::BIGINT AS ticks
         FROM prices GROUP BY ALL ORDER BY ALL`,
    );
    const rolled = await setup.rows(`SELECT minute, symbol, source, open, high, low, close, ticks FROM candles_1m ORDER BY ALL`);
    assert.equal(direct.length > 5, true);
    assert.deepEqual(rolled, direct);
    assert.ok(processor.status().commits > 1, 'several commits, so partials were merged by the view');
  });

  it('writes trades with their trade candles, and gaps and alerts, from their own topics', async () => {
    const processor = setup.open();
    await processor.start();
    const trades = [
      tradeRecord('binance', 'BTCUSDT', 1, DAY + 1_000, 100, 1, 'buy'),
      tradeRecord('binance', 'BTCUSDT', 2, DAY + 2_000, 101, 2, 'sell'),
    ];
    await setup.bus.publish(
      setup.settings.tradesTopic,
      trades.map((trade) => ({ key: `${trade.venue}:${trade.market}`, value: JSON.stringify(trade) })),
    );
    await processor.drain();
    assert.equal(await count('SELECT count(*) FROM trades'), 2);
    const [candle] = await setup.rows('SELECT open_trade_id, close_trade_id, trades FROM trade_candles_1m');
    assert.deepEqual(candle, { open_trade_id: 1n, close_trade_id: 2n, trades: 2n });
  });

  it('resumes from the offsets stored in the lake, not from what the bus remembers', async () => {
    const first = setup.open();
    await first.start();
    const records = Array.from({ length: 30 }, (_, i) => price('BTC', DAY + i));
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records.slice(0, 20)));
    await first.drain();
    await first.stop();
    // The bus forgets what was committed (a new group name); the lake still knows.
    const second = setup.open({ settings: { kafkaGroup: uniqueName('other-group') } });
    await second.start();
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records.slice(20)));
    await second.drain();
    assert.equal(await count('SELECT count(*) FROM prices'), 30);
    assert.equal(second.status().duplicatesDropped, 0, 'nothing read twice: it started at the lake offsets');
    assert.equal(second.status().recordsWritten, 10);
  });

  it('reads a new in-memory bus from its start when the lake holds the offsets of an earlier one (npm start again)', async () => {
    const first = setup.open();
    await first.start();
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(Array.from({ length: 40 }, (_, i) => price('BTC', DAY + i))));
    await first.drain();
    await first.stop();
    // The process ends: its in-memory bus with it. The next one starts on an empty bus and the same lake.
    const fresh = new MemoryBus({ partitions: 2, retryDelayMs: 20 });
    cleanups.push(() => fresh.close());
    const second = setup.open({ bus: fresh });
    await second.start();
    await fresh.publish(setup.settings.kafkaTopic, messagesOf(Array.from({ length: 10 }, (_, i) => price('ETH', DAY + i))));
    await second.drain();
    assert.equal(await count(`SELECT count(*) FROM prices WHERE symbol = 'ETH'`), 10, 'every record of the new bus is in the lake');
    await fresh.publish(setup.settings.kafkaTopic, messagesOf(Array.from({ length: 10 }, (_, i) => price('SOL', DAY + i))));
    await second.drain();
    assert.equal(await count('SELECT count(*) FROM prices'), 60);
    assert.equal(second.status().duplicatesDropped, 0);
  });

  it('fences a late writer: a commit of a range another processor committed is refused, and the partition is read again', async () => {
    const late = setup.open({ settings: { kafkaGroup: uniqueName('late') } });
    const owner = setup.open({ settings: { kafkaGroup: uniqueName('owner') } });
    await late.start();
    await owner.start();
    // Both read the same partitions (two groups): only one commit of each range may land.
    const records = Array.from({ length: 50 }, (_, i) => price('BTC', DAY + i));
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records));
    await Promise.all([owner.drain(), late.drain()]);
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records.map((r) => price('ETH', r.ts))));
    await Promise.all([owner.drain(), late.drain()]);
    assert.equal(await count('SELECT count(*) FROM prices'), 100);
    assert.equal(await count('SELECT count(DISTINCT id) FROM prices'), 100);
    const written = owner.status().recordsWritten + late.status().recordsWritten;
    assert.equal(written, 100, 'every record committed by exactly one of them');
  });

  it('retries commits while the lake refuses writes, reports the error, and clears it once writes succeed', async () => {
    // Commits of 20,000 records: above the inlining limit, so they write Parquet files.
    const processor = setup.open({ settings: { flushMaxRecords: 20_000 } });
    await processor.start();
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf([price('BTC', DAY)]));
    await processor.drain();
    // A file where the table's folder should be: every data file write fails.
    const folder = join(setup.root, 'main', 'prices');
    await rename(folder, `${folder}.moved`).catch(() => undefined);
    await writeFile(folder, 'not a folder');
    const many = Array.from({ length: 20_000 }, (_, i) => price('ETH', DAY + i));
    await setup.bus.publish(
      setup.settings.kafkaTopic,
      many.map((record) => ({ key: 'one-partition', value: JSON.stringify(record) })),
    );
    await waitFor(() => processor.status().lastError !== null, 20_000, 'the commit failure reported');
    assert.match(processor.status().lastError!, /committing|prices/);
    await rm(folder);
    await mkdir(folder, { recursive: true });
    await waitFor(() => processor.status().lastError === null && processor.status().recordsWritten === 20_001, 30_000, 'recovered');
    assert.equal(await count('SELECT count(*) FROM prices'), 20_001);
  });

  it('bounds the bytes it holds: consumption waits while a flush is written', async () => {
    const processor = setup.open({ settings: { maxBufferedBytes: 200_000, flushIntervalMs: 10 } });
    await processor.start();
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, processor.status().bufferedBytes)), 1);
    const records = Array.from({ length: 6_000 }, (_, i) => price(`S${i % 5}`, DAY + i));
    await setup.bus.publish(setup.settings.kafkaTopic, messagesOf(records));
    await processor.drain(60_000);
    clearInterval(timer);
    assert.equal(await count('SELECT count(*) FROM prices'), 6_000);
    // One delivered batch may land past the cap before consumption waits.
    assert.ok(peak < 200_000 + 5_000 * 600, `peak ${peak}`);
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LocalObjectStore } from '../core/adapters/local-fs/object-store.ts';
import { silentLogger } from '../core/log.ts';
import { Metrics } from '../core/metrics.ts';
import { toPriceRecord, type PriceRecord } from '../core/records/price.ts';
import { Lake } from '../lake-query/lake.ts';
import { createLakeQueries, type CandleInterval } from '../lake-query/queries.ts';
import type { Batch } from './batcher.ts';
import { Compactor } from './compactor.ts';
import { pricesDataset } from './datasets.ts';
import { FlushJournal } from './flush-journal.ts';
import { LakeWriter } from './lake-writer.ts';
import { ParquetEncoder } from './parquet.ts';
import { candlePartials } from './rollups.ts';
import { tempLake } from './testing/lake-reader.ts';

const at = (iso: string) => Date.parse(iso);
const price = (source: string, symbol: string, iso: string, usd: number, volume: number | null = 1e9): PriceRecord => ({
  ...toPriceRecord({ source, symbol, ts: at(iso), price_usd: usd, volume_24h_usd: volume }, at(iso) + 5),
});

describe('candle partials', () => {
  it('aggregates one file per symbol, source and minute, counting a repeated id once', () => {
    const partials = candlePartials([
      price('a', 'BTC', '2026-03-02T00:00:40Z', 130),
      price('a', 'BTC', '2026-03-02T00:00:00Z', 101, null),
      price('a', 'BTC', '2026-03-02T00:00:40Z', 130),
      price('a', 'BTC', '2026-03-02T00:00:20Z', 99, 5),
      price('b', 'BTC', '2026-03-02T00:00:20Z', 98),
    ]);
    assert.deepEqual(
      partials.map((p) => [p.source, p.open, p.high, p.low, p.close, p.ticks, p.raw_rows, p.volume_24h_usd]),
      [
        ['a', 101, 130, 99, 130, 3, 4, 1e9],
        ['b', 98, 98, 98, 98, 1, 1, 1e9],
      ],
    );
  });
});

describe('candles from rollups', () => {
  let lake: Lake;
  let lakeDir: { root: string; cleanup(): Promise<void> };
  let encoder: ParquetEncoder;
  let store: LocalObjectStore;
  let offset = 0;

  async function flush(records: PriceRecord[]): Promise<void> {
    const dataset = pricesDataset('prices');
    const batch: Batch = {
      topic: 'prices',
      partition: 0,
      firstOffset: offset,
      lastOffset: offset + records.length - 1,
      items: records.map((row) => ({ dataset, row, eventTimeMs: row.ts })),
      bytes: 0,
      openedAt: 0,
    };
    offset += records.length;
    await new LakeWriter(store, encoder, new FlushJournal(store, 'test'), silentLogger).write(batch);
  }

  before(async () => {
    lakeDir = await tempLake();
    store = new LocalObjectStore(lakeDir.root);
    encoder = await ParquetEncoder.open();
    // Two sources stamping the same instants (ties), null volumes, minutes and days split across
    // files, and one observation delivered twice in the same flush.
    const records: PriceRecord[] = [];
    for (let i = 0; i < 600; i++) {
      const ts = new Date(at('2026-03-01T22:00:00Z') + i * 17_000).toISOString();
      records.push(price('a', 'BTC', ts, 100 + ((i * 7) % 13), i % 5 === 0 ? null : 1e9 + i));
      if (i % 3 === 0) records.push(price('b', 'BTC', ts, 100 + ((i * 11) % 17), i % 4 === 0 ? null : 2e9 + i));
      if (i % 2 === 0) records.push(price('a', 'ETH', ts, 10 + (i % 3)));
    }
    records.splice(40, 0, records[39]!);
    for (let start = 0; start < records.length; start += 97) await flush(records.slice(start, start + 97));
    lake = await Lake.open(
      { kind: 'local', root: lakeDir.root, synthetic: false },
      { queryTimeoutMs: 10_000, memoryLimit: '256MB', threads: 2, connections: 2 },
      silentLogger,
      new Metrics(),
    );
  });

  after(async () => {
    await lake.close();
    await encoder.close();
    await lakeDir.cleanup();
  });

  const ranges = [
    { from: at('2026-03-01T00:00:00Z'), to: at('2026-03-03T00:00:00Z') },
    { from: at('2026-03-01T23:17:00Z'), to: at('2026-03-02T00:43:00Z') },
  ];
  const intervals: CandleInterval[] = ['1m', '5m', '1h', '1d'];

  async function assertSameCandles(): Promise<void> {
    const raw = createLakeQueries(lake, { candleSource: 'raw' });
    const rolled = createLakeQueries(lake, { candleSource: 'rollups' });
    for (const symbol of ['BTC', 'ETH'])
      for (const interval of intervals)
        for (const range of ranges) {
          const query = { symbol, interval, ...range };
          const expected = await raw.candles(query);
          assert.ok(expected.length > 0);
          assert.deepEqual(await rolled.candles(query), expected, `${symbol} ${interval} ${new Date(range.from).toISOString()}`);
        }
  }

  it('gives the raw candles exactly, ties between sources and null volumes included', async () => {
    await assertSameCandles();
  });

  it('uses the rollups only when they cover every day of a whole-minute range', async () => {
    const asked: string[] = [];
    const recording = { ...lake, source: lake.source, hasFiles: lake.hasFiles.bind(lake) } as unknown as Lake;
    recording.query = async (what, sql, params) => {
      asked.push(what);
      return lake.query(what, sql, params);
    };
    const queries = createLakeQueries(recording);
    await queries.candles({ symbol: 'BTC', interval: '1h', ...ranges[0]! });
    assert.ok(asked.includes('candles for BTC (1h) from rollups'), asked.join(', '));
    asked.length = 0;
    await queries.candles({ symbol: 'BTC', interval: '1h', from: ranges[0]!.from + 1, to: ranges[0]!.to });
    assert.deepEqual(asked, ['candles for BTC (1h)']);

    // A day written before rollups existed: its raw files have no twin, so the raw data answers.
    const twin = (await store.list('candles_1m/year=2026/month=03/day=01/'))[0]!.key;
    const bytes = (await store.get(twin))!;
    await store.delete(twin);
    asked.length = 0;
    await queries.candles({ symbol: 'BTC', interval: '1h', ...ranges[0]! });
    assert.ok(asked.includes('candles for BTC (1h)'), asked.join(', '));
    await store.put(twin, bytes);
  });

  it('still gives the raw candles after compaction merged the partials', async () => {
    let now = Date.now();
    const compactor = await Compactor.open({ store, log: silentLogger, graceMs: 1000, now: () => now });
    try {
      for (const day of await compactor.dayFolders('prices')) await compactor.compactDay(day);
      const rollupFiles = await store.list('candles_1m/');
      assert.ok(
        rollupFiles.some((file) => file.key.includes('/compacted-')),
        'the rollup folders were compacted too',
      );
      await assertSameCandles();
      now += 2000;
      for (const day of await compactor.dayFolders('prices')) await compactor.compactDay(day);
      await assertSameCandles();
    } finally {
      await compactor.close();
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { LakeSession } from '../core/adapters/ducklake/session.ts';
import type { LakeLocation } from '../core/adapters/select.ts';
import { INGESTED, deadLetters, type IngestedDataset } from '../core/datasets/index.ts';
import { silentLogger } from '../core/log.ts';
import type { BusMessage, TopicPartition } from '../core/ports/bus.ts';
import type { ObjectStore } from '../core/ports/object-store.ts';
import { toPriceRecord } from '../core/records/price.ts';
import type { Flush } from './flush-window.ts';
import { importOldLake } from './lake-import.ts';
import { LakeWriter } from './lake-writer.ts';
import { maintainLake } from './maintenance.ts';

const DAY = Date.UTC(2026, 10, 22);
const NOW = DAY + 10 * 86_400_000;
const encoder = new TextEncoder();
const LIMITS = { memoryLimit: '256MB', threads: 1 };
const TOPICS = new Map<string, IngestedDataset>(INGESTED.map((dataset) => [dataset.name, dataset]));

/** What a contract run needs: a fresh, empty lake each time, and (for the import) an old-layout lake to write into. */
export interface LakeUnderTest {
  location(): Promise<LakeLocation>;
  /**
   * True when writers in several processes commit side by side without conflicts (PostgreSQL);
   * a SQLite catalog serialises them, and a commit that lost the race is tried again.
   */
  concurrentWriters: boolean;
  /** An empty store for an old-layout lake and its root as DuckDB names files. */
  oldLake(): Promise<{ store: ObjectStore; root: string }>;
}

/** The price messages of partition `tp` from offset `from`: symbol `S<partition>`, one second apart. */
function messages(tp: TopicPartition, from: number, count: number, at = DAY): BusMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const offset = from + i;
    const record = toPriceRecord({ source: 'contract', symbol: `S${tp.partition}`, ts: at + offset * 1_000, price_usd: 100 + offset }, at);
    return { key: record.symbol, value: encoder.encode(JSON.stringify(record)), ...tp, offset, timestamp: at };
  });
}

/** Writes a flush as the processor does: a commit that failed (a race with maintenance) is tried again. */
async function commit(lake: LakeWriter, flush: Flush, onRetry = () => {}): Promise<Awaited<ReturnType<LakeWriter['write']>>> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await lake.write(flush, NOW);
    } catch (error) {
      if (attempt >= 20) throw error;
      onRetry();
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}

/** A flush of one partition's range, as the processor's window hands it over. */
function flushOf(tp: TopicPartition, from: number | undefined, list: BusMessage[]): Flush {
  return { ranges: [{ tp, from, to: list.at(-1)!.offset + 1, messages: list }], records: list.length, bytes: 0 };
}

/**
 * The behaviour the processor needs of its lake, run unchanged on the embedded SQLite catalog with
 * a local folder and on PostgreSQL with MinIO: commits that hold rows, rollups, dead letters and
 * offsets or nothing; fencing of late writers; deduplication by key; writers of different
 * partitions that never conflict; maintenance and imports that keep every row exactly once.
 */
export function lakeWriterContract(name: string, lakes: LakeUnderTest, timeoutMs = 120_000): void {
  describe(`Lake writer contract: ${name}`, { timeout: timeoutMs * 8 }, () => {
    const open: (LakeWriter | LakeSession)[] = [];
    after(async () => {
      for (const item of open) await (item instanceof LakeWriter ? item.close() : item.close());
    });
    const writer = async (location: LakeLocation) => {
      const opened = await LakeWriter.open(location, TOPICS, LIMITS);
      open.push(opened);
      return opened;
    };
    const reader = async (location: LakeLocation) => {
      const session = await LakeSession.open(location, { readOnly: true, threads: 1 });
      open.push(session);
      const connection = await session.connect();
      await connection.run('USE lake');
      return async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();
    };
    const prices = { topic: 'prices', partition: 0 };

    it('commits a flush whole: its rows, rollups, dead letters and the next offset of its partition', { timeout: timeoutMs }, async () => {
      const location = await lakes.location();
      const lake = await writer(location);
      const list = messages(prices, 0, 50);
      list.push({ ...list[0]!, offset: 50, value: encoder.encode('{broken') });
      const outcome = await lake.write(flushOf(prices, undefined, list), NOW);
      assert.equal(outcome.ok, true);
      assert.equal(outcome.staging.rejected, 1);
      const rows = await reader(location);
      const [counts] = await rows(
        `SELECT (SELECT count(*) FROM prices)::INTEGER AS prices, (SELECT sum(ticks) FROM candles_1m)::INTEGER AS ticks,
                (SELECT count(*) FROM dead_letters)::INTEGER AS dead`,
      );
      assert.deepEqual(counts, { prices: 50, ticks: 50, dead: 1 });
      assert.deepEqual(await lake.offsets([prices]), new Map([['prices/0', 51]]));
    });

    it(
      'refuses a flush that does not start where the lake is (a late or zombie writer), and commits none of it',
      { timeout: timeoutMs },
      async () => {
        const location = await lakes.location();
        const [first, late] = [await writer(location), await writer(location)];
        assert.equal((await first.write(flushOf(prices, undefined, messages(prices, 0, 10)), NOW)).ok, true);
        const refused = await late.write(flushOf(prices, undefined, messages(prices, 0, 20)), NOW);
        assert.deepEqual({ ...refused, staging: undefined }, { ok: false, fenced: [prices], staging: undefined });
        assert.equal((await first.write(flushOf(prices, 10, messages(prices, 10, 10)), NOW)).ok, true);
        const late2 = await late.write(flushOf(prices, 10, messages(prices, 10, 15)), NOW);
        assert.deepEqual({ ...late2, staging: undefined }, { ok: false, fenced: [prices], staging: undefined });
        const [row] = await (await reader(location))('SELECT count(*)::INTEGER AS n, max(price_usd) AS top FROM prices');
        assert.deepEqual(row, { n: 20, top: 119 });
      },
    );

    it(
      'keeps every key once: a record already in the lake, or twice in one flush, is dropped and counted',
      { timeout: timeoutMs },
      async () => {
        const location = await lakes.location();
        const lake = await writer(location);
        const list = messages(prices, 0, 20);
        await lake.write(flushOf(prices, undefined, list.slice(0, 10)), NOW);
        const again = [...list.slice(5, 20), ...list.slice(15, 20)].map((message, i) => ({ ...message, offset: 10 + i }));
        const outcome = await lake.write(flushOf(prices, 10, again), NOW);
        assert.ok(outcome.ok);
        assert.deepEqual(
          outcome.writes.find((write) => write.dataset === 'prices'),
          { dataset: 'prices', rows: 10, duplicates: 10 },
        );
        const [row] = await (
          await reader(location)
        )(
          'SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids, sum(ticks)::INTEGER AS t FROM prices, (SELECT sum(ticks) AS ticks FROM candles_1m)',
        );
        assert.deepEqual(row, { n: 20, ids: 20, t: 400 });
      },
    );

    it('lets writers of different partitions commit at the same time, none fenced', { timeout: timeoutMs }, async () => {
      const location = await lakes.location();
      const writers = await Promise.all([0, 1, 2].map(() => writer(location)));
      let retries = 0;
      await Promise.all(
        writers.map(async (lake, partition) => {
          const tp = { topic: 'prices', partition };
          let from: number | undefined;
          for (let round = 0; round < 8; round += 1) {
            const start = from ?? 0;
            const outcome = await commit(lake, flushOf(tp, from, messages(tp, start, 25)), () => (retries += 1));
            assert.equal(outcome.ok, true, `partition ${partition} round ${round}`);
            from = start + 25;
          }
        }),
      );
      const [row] = await (await reader(location))('SELECT count(*)::INTEGER AS n, count(DISTINCT symbol)::INTEGER AS symbols FROM prices');
      assert.deepEqual(row, { n: 600, symbols: 3 });
      if (lakes.concurrentWriters) assert.equal(retries, 0, 'no commit had to be tried again');
    });

    it('lets writers race for one partition: every offset lands once, whoever wins', { timeout: timeoutMs }, async () => {
      const location = await lakes.location();
      const writers = await Promise.all([0, 1, 2].map(() => writer(location)));
      // Each writer commits the partition's next 10 offsets from wherever it believes the lake is.
      await Promise.all(
        writers.map(async (lake) => {
          for (let round = 0; round < 10; round += 1) {
            const known = (await lake.offsets([prices])).get('prices/0');
            const start = known ?? 0;
            await lake.write(flushOf(prices, known, messages(prices, start, 10)), NOW).catch(() => undefined);
          }
        }),
      );
      const next = (await writers[0]!.offsets([prices])).get('prices/0')!;
      const [row] = await (
        await reader(location)
      )('SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids, max(price_usd)::INTEGER AS top FROM prices');
      assert.deepEqual(row, { n: next, ids: next, top: 100 + next - 1 });
      assert.ok(next >= 100, `${next} offsets committed`);
    });

    it('keeps every row exactly once through maintenance while commits go on', { timeout: timeoutMs }, async () => {
      const location = await lakes.location();
      const lake = await writer(location);
      const maintainer = await LakeSession.open(location, { readOnly: false, threads: 1 });
      open.push(maintainer);
      const connection = await maintainer.connect();
      let from: number | undefined;
      const committing = (async () => {
        for (let round = 0; round < 12; round += 1) {
          const start = from ?? 0;
          assert.equal(
            (await lake.write(flushOf(prices, from, messages(prices, start, 40, DAY + (round % 3) * 86_400_000)), NOW)).ok,
            true,
          );
          from = start + 40;
        }
      })();
      for (let pass = 0; pass < 3; pass += 1) {
        const report = await maintainLake(
          connection,
          { snapshotRetentionMs: 0, fileCleanupGraceMs: 60_000, rollupsSinceMs: 0 },
          silentLogger,
        );
        assert.ok(
          report.failures.every((failure) => /conflict|Failed to commit|database is locked/i.test(failure)),
          report.failures.join('; '),
        );
      }
      await committing;
      await maintainLake(connection, { snapshotRetentionMs: 0, fileCleanupGraceMs: 60_000, rollupsSinceMs: 0 }, silentLogger);
      const [row] = await (
        await reader(location)
      )(
        'SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids, (SELECT sum(ticks) FROM candles_1m)::INTEGER AS ticks FROM prices',
      );
      assert.deepEqual(row, { n: 480, ids: 480, ticks: 480 });
    });

    it(
      "imports a lake of the previous version once, however often it runs, skipping its compaction's leftovers",
      { timeout: timeoutMs },
      async () => {
        const location = await lakes.location();
        await writer(location);
        const old = await lakes.oldLake();
        const writeOld = async (key: string, sql: string) => old.store.put(key, await parquetOf(sql));
        const day = 'year=2026/month=11/day=22';
        const price = (i: number) =>
          `('old:S1:${DAY + i}', epoch_ms(${DAY + i}), 'S1', 'old', ${100 + i}, NULL, NULL, NULL, epoch_ms(${DAY + i}))`;
        const values = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => price(from + i)).join(', ');
        const select = (from: number, to: number) =>
          `SELECT * FROM (VALUES ${values(from, to)}) t(id, ts, symbol, source, price_usd, volume_24h_usd, market_cap_usd, change_24h_pct, ingested_at)`;
        // Two flushed files, their compaction (merged file + marker), a leftover of a crashed compaction, and a duplicate.
        await writeOld(`prices/${day}/part-prices-p0-o000000000000-o000000000009.parquet`, select(0, 10));
        await writeOld(`prices/${day}/part-prices-p0-o000000000010-o000000000019.parquet`, select(10, 20));
        await writeOld(`prices/${day}/compacted-aaaaaaaaaaaaaaaa.parquet`, select(0, 20));
        await old.store.put(
          `_compaction/prices/${day}/aaaaaaaaaaaaaaaa.json`,
          encoder.encode(
            JSON.stringify({
              compacted: `prices/${day}/compacted-aaaaaaaaaaaaaaaa.parquet`,
              sources: [
                `prices/${day}/part-prices-p0-o000000000000-o000000000009.parquet`,
                `prices/${day}/part-prices-p0-o000000000010-o000000000019.parquet`,
              ],
              rows: 20,
              at: DAY,
            }),
          ),
        );
        await writeOld(`prices/${day}/compacted-bbbbbbbbbbbbbbbb.parquet`, select(0, 20));
        await writeOld(`prices/${day}/part-prices-p1-o000000000000-o000000000004.parquet`, select(18, 23));
        await writeOld(
          `dead-letter/${day}/part-prices-p0-o000000000020-o000000000020.parquet`,
          `SELECT epoch_ms(${DAY}) AS "at", 'processor' AS stage, 'prices/0/20' AS source, 'not JSON' AS reason, '{' AS payload`,
        );
        const maintainer = await LakeSession.open(location, { readOnly: false, threads: 1 });
        open.push(maintainer);
        const connection = await maintainer.connect();
        const first = await importOldLake(connection, old, silentLogger);
        assert.deepEqual(first.rows, { prices: 23, dead_letters: 1 });
        assert.deepEqual(first.duplicates, { prices: 2, dead_letters: 0 });
        const second = await importOldLake(connection, old, silentLogger);
        assert.deepEqual(second.rows, {});
        const [row] = await (
          await reader(location)
        )(
          `SELECT (SELECT count(*) FROM prices)::INTEGER AS prices, (SELECT sum(ticks) FROM candles_1m)::INTEGER AS ticks,
                (SELECT count(*) FROM ${deadLetters.name})::INTEGER AS dead`,
        );
        assert.deepEqual(row, { prices: 23, ticks: 23, dead: 1 });
      },
    );
  });
}

/** The bytes of a Snappy Parquet file of a query's rows, as the previous version wrote them. */
async function parquetOf(sql: string): Promise<Uint8Array> {
  const folder = await mkdtemp(join(tmpdir(), 'old-lake-'));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const file = join(folder, 'file.parquet');
    await connection.run(`COPY (${sql}) TO '${file}' (FORMAT parquet, COMPRESSION snappy)`);
    return await readFile(file);
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(folder, { recursive: true, force: true });
  }
}

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaBus } from '../../core/adapters/kafka/bus.ts';
import { openAdapters, type Adapters } from '../../core/adapters/select.ts';
import { liveParquetSql } from '../../core/lake-layout.ts';
import { silentLogger } from '../../core/log.ts';
import { toPriceRecord } from '../../core/records/price.ts';
import { uniqueName, waitFor } from '../../core/testing/wait.ts';
import { Compactor } from '../../processor/compactor.ts';
import { lakeReader } from '../support/pipeline.ts';
import { startPart, type PartProcess } from '../support/process.ts';
import { dedicatedStack } from './dedicated-stack.ts';

// Short in CI (about 20 kills); `CHAOS_KILLS=200` for the long run.
const KILLS = Number(process.env.CHAOS_KILLS ?? 20);
const RECORDS = Number(process.env.CHAOS_RECORDS ?? 20_000);
const BAD = 200;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const randomBetween = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

async function compactAll(adapters: Adapters): Promise<{ merged: number; compactions: number }> {
  const compactor = await Compactor.open({ store: adapters.store, log: silentLogger, graceMs: 0, orphanGraceMs: 0, targetBytes: 4 << 20 });
  const totals = { merged: 0, compactions: 0 };
  try {
    for (const dataset of ['prices', 'dead-letter']) {
      for (const folder of await compactor.dayFolders(dataset)) {
        const result = await compactor.compactDay(folder);
        totals.merged += result.filesMerged;
        totals.compactions += result.compactions;
      }
    }
  } finally {
    await compactor.close();
  }
  return totals;
}

describe('the processor under chaos, on a Kafka and MinIO of its own', () => {
  it(
    'holds every record exactly once after SIGKILLs, a MinIO restart, a broker restart and compactions',
    { timeout: 60 * 60_000 },
    async () => {
      const started = Date.now();
      const stack = await dedicatedStack();
      const services = stack.env;
      const env = {
        ...services,
        KAFKA_TOPIC: uniqueName('chaos-prices'),
        DEAD_LETTER_TOPIC: uniqueName('chaos-dead'),
        KAFKA_GROUP: uniqueName('chaos-group'),
        KAFKA_PARTITIONS: '3',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
        S3_PREFIX: uniqueName('chaos'),
        // Short flushes: kills land mid-flush.
        FLUSH_INTERVAL_MS: '150',
        FLUSH_MAX_RECORDS: '700',
      };
      const bus = new KafkaBus({ brokers: services.KAFKA_BROKERS.split(','), partitions: 3, log: silentLogger });
      const adapters = await openAdapters({ ...env, KAFKA_BROKERS: undefined, REDIS_URL: undefined }, silentLogger);
      const figures = {
        records: RECORDS,
        bad: BAD,
        kills: 0,
        minioRestarts: 0,
        kafkaRestarts: 0,
        secondJoins: 0,
        compactions: 0,
        filesMerged: 0,
      };
      let current: PartProcess | undefined;
      // A second processor joins and leaves now and then: rebalances between two live owners.
      let second: PartProcess | undefined;
      try {
        // Records 23:55 UTC onwards, 30 ms apart: they cross midnight. Every 100th is bad.
        const midnight = Date.UTC(2026, 10, 22, 23, 55);
        const messages: { key: string; value: string }[] = [];
        const ids: string[] = [];
        for (let i = 0; i < RECORDS; i += 1) {
          const record = toPriceRecord({ source: 'synthetic', symbol: `S${i % 7}`, ts: midnight + i * 30, price_usd: 100 + i }, midnight);
          ids.push(record.id);
          messages.push({ key: record.symbol, value: JSON.stringify(record) });
        }
        for (let i = 0; i < BAD; i += 1) {
          const old = toPriceRecord({ source: 'synthetic', symbol: `OLD${i}`, ts: Date.UTC(2001, 0, 1), price_usd: 1 }, midnight);
          const value = i % 2 === 0 ? `{not json ${i}` : JSON.stringify(old);
          messages.splice(i * 97 + 13, 0, { key: `S${i % 7}`, value });
        }
        // Published while the first processors are killed; done before the broker restart.
        const publishing = (async () => {
          for (let start = 0; start < messages.length; start += 2_000) {
            await bus.publish(env.KAFKA_TOPIC, messages.slice(start, start + 2_000));
            await sleep(150);
          }
        })();

        for (let cycle = 1; cycle <= KILLS; cycle += 1) {
          current = startPart('processor/main.ts', env);
          if (cycle % 5 === 2) {
            second = startPart('processor/main.ts', env);
            figures.secondJoins += 1;
          }
          // Every fourth run gets to join and work a while; the others die at any moment, start-up included.
          const lifetime = cycle % 4 === 0 ? randomBetween(4_000, 8_000) : randomBetween(300, 3_500);
          if (cycle === Math.ceil(KILLS / 3)) {
            await sleep(lifetime / 2);
            await stack.stopService('minio');
            await sleep(3_000);
            await stack.startService('minio');
            figures.minioRestarts += 1;
          } else if (cycle === Math.ceil((2 * KILLS) / 3)) {
            await publishing;
            await sleep(lifetime / 2);
            await stack.restartService('kafka');
            figures.kafkaRestarts += 1;
          } else if (cycle === Math.ceil(KILLS / 2)) {
            const compacted = await compactAll(adapters);
            figures.compactions += compacted.compactions;
            figures.filesMerged += compacted.merged;
          }
          await sleep(lifetime);
          current.kill('SIGKILL');
          await current.exited;
          figures.kills += 1;
          if (second && cycle % 5 === 4) {
            // Half leave politely (SIGTERM: flush, commit, leave the group), half are killed.
            second.kill(cycle % 10 === 4 ? 'SIGTERM' : 'SIGKILL');
            await second.exited;
            second = undefined;
          }
        }
        second?.kill('SIGKILL');
        await second?.exited;
        await publishing;

        // A final processor runs until every partition of both topics is committed to its end.
        current = startPart('processor/main.ts', env);
        const final = current;
        await waitFor(() => final.logs.some((line) => line.msg === 'processor is running'), 120_000, 'the final processor to start');
        await waitFor(
          async () => {
            for (const topic of [env.KAFKA_TOPIC, env.DEAD_LETTER_TOPIC]) {
              const [ends, committed] = await Promise.all([bus.endOffsets(topic), bus.committedOffsets(env.KAFKA_GROUP, topic)]);
              for (const [partition, end] of ends) if (end > 0 && committed.get(partition) !== end) return false;
            }
            return true;
          },
          180_000,
          'the final processor to commit everything',
        );
        current.kill('SIGTERM');
        assert.equal(await current.exited, 0, current.stderr());
        current = undefined;

        const filesBefore = (await adapters.store.list('prices/')).length;
        const compacted = await compactAll(adapters);
        figures.compactions += compacted.compactions;
        figures.filesMerged += compacted.merged;
        await compactAll(adapters); // sweeps the sources (grace 0)
        const filesAfter = (await adapters.store.list('prices/')).length;

        const { db, root, close } = await lakeReader(adapters, services.DUCKDB_EXTENSION_DIR);
        try {
          const read = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjectsJS()[0]!;
          await db.run(`CREATE TABLE expected AS SELECT unnest([${ids.map((id) => `'${id}'`).join(',')}]) AS id`);
          await db.run(`CREATE TABLE live AS SELECT * FROM ${liveParquetSql(root, 'prices')}`);
          const prices = await read(
            `SELECT count(*)::INTEGER AS n, count(DISTINCT id)::INTEGER AS ids,
                  (SELECT count(*) FROM live WHERE id NOT IN (SELECT id FROM expected))::INTEGER AS strangers,
                  (SELECT count(*) FROM expected WHERE id NOT IN (SELECT id FROM live))::INTEGER AS missing,
                  count(DISTINCT day)::INTEGER AS days,
                  count(*) FILTER (WHERE strftime(ts, '%Y%m%d')::INTEGER <> year * 10000 + month * 100 + day)::INTEGER AS misplaced
             FROM live`,
          );
          assert.deepEqual(
            prices,
            { n: RECORDS, ids: RECORDS, strangers: 0, missing: 0, days: 2, misplaced: 0 },
            'each record once, on its day',
          );
          const dead = await read(
            `SELECT count(*)::INTEGER AS n, count(DISTINCT source)::INTEGER AS sources FROM ${liveParquetSql(root, 'dead-letter')}`,
          );
          assert.deepEqual(dead, { n: BAD, sources: BAD }, 'each bad record dead-lettered once');
          const rollups = await read(`SELECT sum(raw_rows)::INTEGER AS n FROM ${liveParquetSql(root, 'candles_1m')}`);
          assert.deepEqual(rollups, { n: RECORDS }, 'the 1-minute rollups account for each record once');
          // Every file opens: a raw glob reads them all (it counts compaction sources twice while they exist).
          const raw = await read(
            `SELECT count(*)::INTEGER AS n FROM read_parquet(['${root}/prices/**/*.parquet', '${root}/dead-letter/**/*.parquet'], union_by_name = true)`,
          );
          await read(`SELECT count(*)::INTEGER AS n FROM read_parquet('${root}/candles_1m/**/*.parquet')`);
          const seconds = Math.round((Date.now() - started) / 1000);
          console.log(JSON.stringify({ ...figures, filesBefore, filesAfter, rawRows: raw.n, seconds }));
          assert.equal(raw.n, RECORDS + BAD, 'after the sweep the raw glob sees each row once too');
        } finally {
          close();
        }
      } finally {
        current?.kill('SIGKILL');
        second?.kill('SIGKILL');
        await bus.close();
        await adapters.close();
        await stack.down();
      }
    },
  );
});

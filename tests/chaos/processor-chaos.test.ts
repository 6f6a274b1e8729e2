import { CANDLE_GRAINS } from '../../core/datasets/index.ts';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dataPath } from '../../core/adapters/ducklake/attach.ts';
import { partitionKey } from '../../core/adapters/ducklake/offsets.ts';
import { KafkaBus } from '../../core/adapters/kafka/bus.ts';
import { openAdapters, type Adapters } from '../../core/adapters/select.ts';
import { silentLogger } from '../../core/log.ts';
import { toPriceRecord } from '../../core/records/price.ts';
import { uniqueName, waitFor } from '../../core/testing/wait.ts';
import { lakeInitSql } from '../../lake-query/cli/init-sql.ts';
import { lakeReader } from '../support/pipeline.ts';
import { startPart, type PartProcess } from '../support/process.ts';
import { dedicatedStack } from './dedicated-stack.ts';

// Short in CI (about 20 kills); `CHAOS_KILLS=200` for the long run.
const KILLS = Number(process.env.CHAOS_KILLS ?? 20);
const RECORDS = Number(process.env.CHAOS_RECORDS ?? 20_000);
const BAD = 200;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const randomBetween = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));
const run = promisify(execFile);

/** Where the lake holds each partition of the topics: its committed next offset, or 0. */
async function lakeOffsets(adapters: Adapters, topics: string[], partitions: number): Promise<Map<string, number>> {
  const { db, close } = await lakeReader(adapters.lake);
  try {
    const tables = new Set(
      (await db.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake' AND schema_name = 'bus_offsets'`))
        .getRowObjectsJS()
        .map((row) => String(row.table_name)),
    );
    const offsets = new Map<string, number>();
    for (const topic of topics)
      for (let partition = 0; partition < partitions; partition += 1) {
        const key = partitionKey({ topic, partition });
        if (!tables.has(key)) continue;
        const [row] = (await db.runAndReadAll(`SELECT max(next_offset)::DOUBLE AS next FROM lake.bus_offsets."${key}"`)).getRowObjectsJS();
        offsets.set(key, Number(row?.next ?? 0));
      }
    return offsets;
  } finally {
    close();
  }
}

describe('the processor under chaos, on a Kafka, MinIO and PostgreSQL of its own', () => {
  it(
    'holds every record exactly once after SIGKILLs, a zombie, MinIO, broker and catalog restarts and maintenance',
    { timeout: 60 * 60_000 },
    async () => {
      const started = Date.now();
      const stack = await dedicatedStack();
      const services = stack.env;
      const name = uniqueName('chaos');
      const env = {
        ...services,
        KAFKA_TOPIC: uniqueName('chaos-prices'),
        DEAD_LETTER_TOPIC: uniqueName('chaos-dead'),
        KAFKA_GROUP: uniqueName('chaos-group'),
        KAFKA_PARTITIONS: '3',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
        S3_PREFIX: name,
        LAKE_CATALOG_SCHEMA: name.replace(/[^a-z0-9_]/g, '_'),
        // Short flushes: kills land mid-commit.
        FLUSH_INTERVAL_MS: '150',
        FLUSH_MAX_RECORDS: '700',
        // Maintenance inside the processors too, racing their commits and each other.
        MAINTENANCE_INTERVAL_MS: '2000',
        FILE_CLEANUP_GRACE_MS: '5000',
      };
      const topics = [env.KAFKA_TOPIC, env.DEAD_LETTER_TOPIC];
      const bus = new KafkaBus({ brokers: services.KAFKA_BROKERS.split(','), partitions: 3, log: silentLogger });
      const adapters = await openAdapters({ ...env, KAFKA_BROKERS: undefined, REDIS_URL: undefined }, silentLogger);
      const figures = {
        records: RECORDS,
        bad: BAD,
        kills: 0,
        minioRestarts: 0,
        kafkaRestarts: 0,
        catalogRestarts: 0,
        zombies: 0,
        secondJoins: 0,
      };
      let current: PartProcess | undefined;
      // A second processor joins and leaves now and then: rebalances between two live owners.
      let second: PartProcess | undefined;
      let zombie: PartProcess | undefined;
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
          if (cycle === Math.ceil(KILLS / 4)) {
            await sleep(lifetime / 2);
            await stack.stopService('minio');
            await sleep(3_000);
            await stack.startService('minio');
            figures.minioRestarts += 1;
          } else if (cycle === Math.ceil(KILLS / 2)) {
            await sleep(lifetime / 2);
            await stack.restartService('postgres');
            figures.catalogRestarts += 1;
          } else if (cycle === Math.ceil((3 * KILLS) / 4)) {
            await publishing;
            await sleep(lifetime / 2);
            await stack.restartService('kafka');
            figures.kafkaRestarts += 1;
          } else if (cycle === Math.ceil(KILLS / 3)) {
            // A zombie: a processor frozen mid-work while its partitions move to another, then woken.
            zombie = current;
            await sleep(lifetime);
            zombie.kill('SIGSTOP');
            current = startPart('processor/main.ts', env);
            await sleep(9_000);
            zombie.kill('SIGCONT');
            await sleep(3_000);
            zombie.kill('SIGKILL');
            await zombie.exited;
            figures.zombies += 1;
          }
          await sleep(lifetime);
          current.kill('SIGKILL');
          await current.exited;
          figures.kills += 1;
          if (second && cycle % 5 === 4) {
            // Half leave politely (SIGTERM: commit, leave the group), half are killed.
            second.kill(cycle % 10 === 4 ? 'SIGTERM' : 'SIGKILL');
            await second.exited;
            second = undefined;
          }
        }
        second?.kill('SIGKILL');
        await second?.exited;
        await publishing;

        // A final processor runs until the lake holds every partition of both topics to its end.
        current = startPart('processor/main.ts', env);
        const final = current;
        await waitFor(() => final.logs.some((line) => line.msg === 'processor is running'), 120_000, 'the final processor to start');
        await waitFor(
          async () => {
            const held = await lakeOffsets(adapters, topics, 3);
            for (const topic of topics) {
              for (const [partition, end] of await bus.endOffsets(topic)) {
                if (end > 0 && held.get(partitionKey({ topic, partition })) !== end) return false;
              }
            }
            return true;
          },
          180_000,
          'the lake to hold every partition to its end',
        );
        current.kill('SIGTERM');
        assert.equal(await current.exited, 0, current.stderr());
        current = undefined;

        // Maintenance as a user runs it, then the lake checked by a DuckDB of its own (the CLI).
        const compact = await run(process.execPath, ['--import', 'tsx', 'processor/cli/lake.ts', 'compact', '--all'], {
          cwd: ROOT,
          env: {
            ...process.env,
            ...env,
            KAFKA_BROKERS: '',
            REDIS_URL: '',
            SNAPSHOT_RETENTION_MS: '0',
            FILE_CLEANUP_GRACE_MS: '0',
            LOG_LEVEL: 'warn',
          },
        });
        const maintenance = JSON.parse(compact.stdout) as { failures: string[] };
        assert.deepEqual(maintenance.failures, []);
        const folder = await mkdtemp(join(tmpdir(), 'chaos-check-'));
        await writeFile(join(folder, 'init.sql'), lakeInitSql(adapters.lake));
        await writeFile(join(folder, 'expected.csv'), `id\n${ids.join('\n')}\n`);
        const cli = async (sql: string) => {
          const { stdout } = await run(services.DUCKDB_CLI, ['-init', join(folder, 'init.sql'), '-json', '-c', sql], {
            maxBuffer: 64 << 20,
          });
          return (JSON.parse(stdout.slice(stdout.indexOf('['))) as Record<string, number>[])[0]!;
        };
        const prices = await cli(
          `SELECT count(*) AS n, count(DISTINCT id) AS ids,
                  (SELECT count(*) FROM prices WHERE id NOT IN (SELECT id FROM read_csv('${folder}/expected.csv'))) AS strangers,
                  (SELECT count(*) FROM read_csv('${folder}/expected.csv') WHERE id NOT IN (SELECT id FROM prices)) AS missing,
                  count(DISTINCT ts::DATE) AS days
             FROM prices`,
        );
        assert.deepEqual(prices, { n: RECORDS, ids: RECORDS, strangers: 0, missing: 0, days: 2 }, 'each record once');
        const files = await cli(
          `SET VARIABLE files = (SELECT list(data_file) FROM ducklake_list_files('lake', 'prices'));
           SELECT count(*) AS rows,
                  count(*) FILTER (WHERE NOT contains(filename, '/year=' || year(ts) || '/month=' || month(ts) || '/day=' || day(ts) || '/')) AS misplaced
             FROM read_parquet(getvariable('files'), filename = true, hive_partitioning = false)`,
        );
        assert.deepEqual(files, { rows: RECORDS, misplaced: 0 }, 'every row in a file of its day, each once, after maintenance');
        const dead = await cli(`SELECT count(*) AS n, count(DISTINCT source) AS sources FROM dead_letters`);
        assert.deepEqual(dead, { n: BAD, sources: BAD }, 'each bad record dead-lettered once');
        const rollups = await cli(`SELECT sum(ticks)::INTEGER AS n FROM candles_1m`);
        assert.deepEqual(rollups, { n: RECORDS }, 'the 1-minute rollups count each record once');
        for (const grain of CANDLE_GRAINS) {
          // Every grain's candles, after the crashes, replays and maintenance, against DuckDB over the raw rows (both ways).
          const direct = `SELECT time_bucket(INTERVAL '${grain.period}', ts) AS p, symbol, source, arg_min(price_usd, ts) AS open,
                                 max(price_usd) AS high, min(price_usd) AS low, arg_max(price_usd, ts) AS close, count(*) AS ticks
                            FROM prices GROUP BY ALL`;
          const rolled = `SELECT ${grain.periodColumn} AS p, symbol, source, open, high, low, close, ticks FROM ${grain.name}`;
          const differ = await cli(
            `SELECT (SELECT count(*) FROM (${direct} EXCEPT ${rolled})) + (SELECT count(*) FROM (${rolled} EXCEPT ${direct})) AS n,
                    (SELECT count(*) FROM ${grain.name}) AS candles`,
          );
          assert.equal(differ.n, 0, `${grain.name} equals candles computed from the raw rows`);
          assert.ok(differ.candles! > 0, `${grain.name} has candles`);
        }
        const glob = await cli(`SELECT count(*) AS n FROM read_parquet('${dataPath(adapters.lake)}main/prices/**/*.parquet')`);
        console.log(JSON.stringify({ ...figures, seconds: Math.round((Date.now() - started) / 1000) }));
        assert.equal(glob.n, RECORDS, 'after maintenance a plain glob over the data path sees each row once too');
      } finally {
        for (const part of [current, second, zombie]) part?.kill('SIGKILL');
        await bus.close();
        await adapters.close();
        await stack.down();
      }
    },
  );
});

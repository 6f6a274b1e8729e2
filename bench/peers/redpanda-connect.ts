/**
 * Redpanda Connect (the successor of Benthos) as the benchmark peer of the processor: Kafka ->
 * Snappy Parquet -> S3, built from the Go module proxy (recipe: `$CRYPTOLAKE_SHARED/reference/peers.md`).
 *
 * `buildRedpandaConnect` builds the binary once into `~/.cache/cryptolake/redpanda-connect/<version>/`
 * (`$CRYPTOLAKE_CACHE` instead of `~/.cache/cryptolake` when set), outside the repository: a `main`
 * package that blank-imports only the component packages the pipeline needs (the full command
 * pulls a module the proxy refuses). `pipelineConfig` is the pipeline; `parquetUnder` reads back
 * what it wrote, since on a type error `parquet_encode` logs at debug level and the raw JSON is
 * uploaded instead of Parquet.
 */
import { execFile } from 'node:child_process';
import { access, mkdir, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { sqlString } from '../../core/adapters/ducklake/attach.ts';
import type { StackEnv } from '../../tests/support/stack.ts';

export const REDPANDA_CONNECT_VERSION = '4.63.0';
const BENTHOS_VERSION = '4.55.0';

const MAIN_GO = `package main

import (
	"context"

	"github.com/redpanda-data/benthos/v4/public/service"

	_ "github.com/redpanda-data/connect/v4/public/components/aws"
	_ "github.com/redpanda-data/connect/v4/public/components/io"
	_ "github.com/redpanda-data/connect/v4/public/components/kafka"
	_ "github.com/redpanda-data/connect/v4/public/components/pure"
	_ "github.com/redpanda-data/connect/v4/public/components/pure/extended"
)

func main() {
	service.RunCLI(context.Background())
}
`;

const GO_MOD = `module cryptolake.bench/redpanda-connect

go 1.24.1

require (
	github.com/redpanda-data/benthos/v4 v${BENTHOS_VERSION}
	github.com/redpanda-data/connect/v4 v${REDPANDA_CONNECT_VERSION}
)
`;

/** The built binary, or why there is none (one line, for the benchmark to print and record). */
export type PeerBinary = { binary: string } | { skipped: string };

const run = promisify(execFile);

/**
 * The binary of Redpanda Connect `REDPANDA_CONNECT_VERSION`, built with `go` from PATH on first use
 * (about 1.5 minutes on 2 cores; Go's module and build caches go under the same cache folder).
 * Resolves `{ skipped }` when `go` is not on PATH; throws with go's last lines when the build fails.
 */
export async function buildRedpandaConnect(log: (line: string) => void): Promise<PeerBinary> {
  const cache = process.env.CRYPTOLAKE_CACHE ?? join(homedir(), '.cache', 'cryptolake');
  const dir = join(cache, 'redpanda-connect', REDPANDA_CONNECT_VERSION);
  const binary = join(dir, 'redpanda-connect');
  if (await exists(binary)) return { binary };
  const version = await run('go', ['version']).catch(() => undefined);
  if (!version) return { skipped: `Redpanda Connect skipped: no Go toolchain (\`go\` is not on PATH) to build it` };
  const source = join(dir, 'src');
  await mkdir(source, { recursive: true });
  await writeFile(join(source, 'go.mod'), GO_MOD);
  await writeFile(join(source, 'main.go'), MAIN_GO);
  const env = {
    ...process.env,
    GOMODCACHE: join(cache, 'go', 'mod'),
    GOCACHE: join(cache, 'go', 'build'),
    GOFLAGS: '-modcacherw -buildvcs=false',
  };
  log(`building Redpanda Connect ${REDPANDA_CONNECT_VERSION} with ${version.stdout.trim()} into ${dir} (once)`);
  const started = performance.now();
  try {
    await run('go', ['mod', 'tidy'], { cwd: source, env, maxBuffer: 64 * 1024 * 1024 });
    await run('go', ['build', '-o', `${binary}.partial`, '.'], { cwd: source, env, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? error);
    throw new Error(
      `building Redpanda Connect ${REDPANDA_CONNECT_VERSION} in ${source}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`,
      { cause: error },
    );
  }
  await rename(`${binary}.partial`, binary);
  log(`built Redpanda Connect in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return { binary };
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Where the pipeline reads and writes, and its one tuning knob. */
export interface PipelineOptions {
  brokers: string;
  topic: string;
  /** A fresh group per run, so it reads the topic from the start. */
  group: string;
  env: StackEnv;
  /** The S3 key prefix of the objects, without a trailing slash. */
  prefix: string;
  /** Records per Parquet object (the processor's `FLUSH_MAX_RECORDS`). */
  batchRecords: number;
}

/**
 * The pipeline as YAML (JSON is YAML): `kafka_franz` in a fresh group from the earliest offset,
 * batches of `batchRecords` or 1 s (the processor's flush), a mapping to the lake's columns, one
 * Snappy Parquet object per batch, `aws_s3` to the stack's MinIO. The mapping casts every DOUBLE
 * column (whole-number JSON values are int64 to it) and writes the epoch-ms times as INT64
 * microseconds (this version's TIMESTAMP type takes only RFC 3339 strings). `checkpoint_limit`
 * 3 batches and 64 uploads in flight: the fastest settings seen (peers.md); commits every 200 ms,
 * the poll period of the benchmark. No HTTP server: other runs on the machine may hold its port.
 */
export function pipelineConfig(options: PipelineOptions): string {
  const double = (field: string) => `root.${field} = if this.${field} == null { null } else { this.${field}.float64() }`;
  const mapping = [
    'root.id = this.id',
    'root.ts = this.ts * 1000',
    'root.symbol = this.symbol',
    'root.source = this.source',
    'root.price_usd = this.price_usd.float64()',
    double('volume_24h_usd'),
    double('market_cap_usd'),
    double('change_24h_pct'),
    'root.ingested_at = this.ingested_at * 1000',
  ].join('\n');
  const column = (name: string, type: string, optional = false) => ({ name, type, optional });
  const endpoint = new URL(options.env.S3_ENDPOINT);
  return JSON.stringify({
    http: { enabled: false },
    logger: { level: 'warn' },
    input: {
      kafka_franz: {
        seed_brokers: options.brokers.split(','),
        topics: [options.topic],
        consumer_group: options.group,
        start_offset: 'earliest',
        checkpoint_limit: options.batchRecords * 3,
        commit_period: '200ms',
        batching: { count: options.batchRecords, period: '1s' },
      },
    },
    pipeline: {
      processors: [
        { mapping },
        {
          parquet_encode: {
            default_compression: 'snappy',
            schema: [
              column('id', 'UTF8'),
              column('ts', 'INT64'),
              column('symbol', 'UTF8'),
              column('source', 'UTF8'),
              column('price_usd', 'DOUBLE'),
              column('volume_24h_usd', 'DOUBLE', true),
              column('market_cap_usd', 'DOUBLE', true),
              column('change_24h_pct', 'DOUBLE', true),
              column('ingested_at', 'INT64'),
            ],
          },
        },
      ],
    },
    output: {
      aws_s3: {
        bucket: options.env.S3_BUCKET,
        path: `${options.prefix}/\${! counter() }-\${! timestamp_unix_nano() }.parquet`,
        endpoint: endpoint.origin,
        region: options.env.S3_REGION,
        force_path_style_urls: true,
        credentials: { id: options.env.AWS_ACCESS_KEY_ID, secret: options.env.AWS_SECRET_ACCESS_KEY },
        max_in_flight: 64,
      },
    },
  });
}

/** What the Parquet objects under a prefix hold, read back by DuckDB. */
export interface ParquetUnder {
  rows: number;
  distinctIds: number;
  files: number;
  days: number;
  /** Objects per day of event time: the mean over the days of the objects holding rows of that day. */
  filesPerDay: number;
}

/**
 * Reads every object under `s3://<bucket>/<prefix>/` as Parquet with DuckDB (httpfs, the stack's
 * MinIO): rows, distinct ids, objects and days of event time (`ts` in INT64 microseconds). Throws
 * when an object is not Parquet.
 */
export async function parquetUnder(env: StackEnv, prefix: string): Promise<ParquetUnder> {
  const instance = await DuckDBInstance.create(':memory:', {
    extension_directory: env.DUCKDB_EXTENSION_DIR,
    autoinstall_known_extensions: 'false',
    threads: '2',
  });
  const db = await instance.connect();
  try {
    const endpoint = new URL(env.S3_ENDPOINT);
    await db.run('LOAD httpfs');
    await db.run(
      `CREATE SECRET bench_s3 (TYPE s3, ENDPOINT ${sqlString(endpoint.host)}, URL_STYLE 'path', USE_SSL ${endpoint.protocol === 'https:'},
         REGION ${sqlString(env.S3_REGION)}, KEY_ID ${sqlString(env.AWS_ACCESS_KEY_ID)}, SECRET ${sqlString(env.AWS_SECRET_ACCESS_KEY)})`,
    );
    const [row] = (
      await db.runAndReadAll(
        `WITH objects AS (SELECT id, make_timestamp(ts)::DATE AS day, filename
                            FROM read_parquet(${sqlString(`s3://${env.S3_BUCKET}/${prefix}/*`)}, filename = true))
         SELECT count(*)::DOUBLE AS rows, count(DISTINCT id)::DOUBLE AS distinct_ids, count(DISTINCT filename)::DOUBLE AS files,
                count(DISTINCT day)::DOUBLE AS days, count(DISTINCT (filename, day))::DOUBLE AS file_days
           FROM objects`,
      )
    ).getRowObjectsJS();
    const days = Number(row!.days);
    return {
      rows: Number(row!.rows),
      distinctIds: Number(row!.distinct_ids),
      files: Number(row!.files),
      days,
      filesPerDay: days === 0 ? 0 : Number(row!.file_days) / days,
    };
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

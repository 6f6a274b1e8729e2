/**
 * `npm run lake -- <command>`: the lake's own operations, on the lake the environment names
 * (LAKE_DIR or S3_* for the data, LAKE_CATALOG for the catalog), as the processor sees it.
 *   init                     creates the catalog's tables (what `docker compose` runs once)
 *   compact [--all]          one maintenance pass (also `npm run compact`)
 *   import <folder|s3://b/p> moves a lake written by the previous version into the catalog
 *   snapshots [--limit N]    the newest snapshots: id, time, author and what each committed
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { LocalObjectStore } from '../../core/adapters/local-fs/object-store.ts';
import { S3ObjectStore } from '../../core/adapters/s3/object-store.ts';
import { LAKE, describeLake } from '../../core/adapters/ducklake/attach.ts';
import { LakeSession } from '../../core/adapters/ducklake/session.ts';
import { ensureLakeTables } from '../../core/adapters/ducklake/tables.ts';
import { openAdapters } from '../../core/adapters/select.ts';
import { LakeError } from '../../core/errors.ts';
import { createLogger } from '../../core/log.ts';
import { runMain } from '../../core/process.ts';
import type { ObjectStore } from '../../core/ports/object-store.ts';
import { loadProcessorConfig } from '../config.ts';
import { importOldLake } from '../lake-import.ts';
import { maintainLake } from '../maintenance.ts';

const USAGE = `usage: npm run lake -- <command> [options]

commands:
  init                      create the catalog's tables (idempotent)
  compact [--all]           one maintenance pass: merge rollup partials (the last 2 days; --all: every day),
                            write inlined rows out, merge small files, expire snapshots older than
                            SNAPSHOT_RETENTION_MS, delete files older than FILE_CLEANUP_GRACE_MS that nothing needs
  import <folder|s3://bucket/prefix>
                            move a lake written by the previous version (Parquet under <dataset>/year=/month=/day=/)
                            into the catalog; run twice, it adds nothing
  snapshots [--limit N]     the newest snapshots (default 20)

The lake is the one of the environment: LAKE_DIR or S3_BUCKET/S3_PREFIX/S3_ENDPOINT, and LAKE_CATALOG.
`;

const log = createLogger(process.env.LOG_LEVEL ?? 'info').child({ part: 'lake' });

await runMain(log, async () => {
  const { values, positionals } = parseCommand(process.argv.slice(2));
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE);
    return;
  }
  const [command, ...rest] = positionals;
  const config = loadProcessorConfig(process.env);
  const adapters = await openAdapters(process.env, log);
  const session = await LakeSession.open(adapters.lake, {
    readOnly: false,
    memoryLimit: config.writerMemoryLimit,
    threads: config.writerThreads,
  });
  try {
    const connection = await session.connect();
    await ensureLakeTables(connection);
    if (command === 'init') {
      process.stdout.write(`The lake is ready: ${describeLake(adapters.lake)}\n`);
    } else if (command === 'compact') {
      const report = await maintainLake(connection, { ...config, rollupsSinceMs: values.all ? 0 : Date.now() - 2 * 86_400_000 }, log);
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      if (report.failures.length > 0) process.exitCode = 1;
    } else if (command === 'import') {
      const from = rest[0];
      if (!from) throw usage('import: name the old lake, a folder or s3://bucket/prefix');
      const old = oldLake(from);
      const report = await importOldLake(connection, old, log);
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else if (command === 'snapshots') {
      const limit = Number(values.limit ?? 20);
      if (!Number.isInteger(limit) || limit < 1) throw usage(`--limit: expected a whole number above 0, got "${values.limit}"`);
      const reader = await connection.runAndReadAll(
        `SELECT snapshot_id, snapshot_time, author, commit_message, changes FROM ${LAKE}.snapshots() ORDER BY snapshot_id DESC LIMIT ${limit}`,
      );
      for (const row of reader.getRowObjectsJson()) process.stdout.write(`${JSON.stringify(row)}\n`);
    } else {
      throw usage(`unknown command "${command}"`);
    }
  } finally {
    session.close();
    await adapters.close();
  }
});

function parseCommand(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, all: { type: 'boolean' }, limit: { type: 'string' } },
    });
  } catch (error) {
    throw usage((error as Error).message);
  }
}

function usage(message: string): LakeError {
  return new LakeError('CONFIG_INVALID', `lake: ${message} (see npm run lake -- --help)`);
}

/** The old lake's store and its root as DuckDB names files: a folder, or s3://bucket/prefix with the environment's S3 settings. */
function oldLake(from: string): { store: ObjectStore; root: string } {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(from);
  if (!s3) {
    const root = resolve(from);
    return { store: new LocalObjectStore(root), root };
  }
  const store = new S3ObjectStore({
    bucket: s3[1]!,
    prefix: s3[2] ?? '',
    ...(process.env.S3_ENDPOINT ? { endpoint: process.env.S3_ENDPOINT } : {}),
    region: process.env.S3_REGION ?? 'us-east-1',
  });
  return { store, root: from.replace(/\/+$/, '') };
}

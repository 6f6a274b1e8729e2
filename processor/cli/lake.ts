/**
 * `npm run lake -- <command>`: the lake's own operations, on the lake the environment names
 * (LAKE_DIR or S3_* for the data, LAKE_CATALOG for the catalog), as the processor sees it.
 *   init                     creates the catalog's tables (what `docker compose` runs once)
 *   compact [--all]          one maintenance pass (also `npm run compact`)
 *   import <folder|s3://b/p> moves a lake written by the previous version into the catalog
 *   snapshots [--limit N]    the newest snapshots: id, time, author and what each committed
 */
import { resolve } from 'node:path';
import { LocalObjectStore } from '../../core/adapters/local-fs/object-store.ts';
import { S3ObjectStore } from '../../core/adapters/s3/object-store.ts';
import { LAKE, describeLake } from '../../core/adapters/ducklake/attach.ts';
import { LakeSession } from '../../core/adapters/ducklake/session.ts';
import { ensureLakeTables } from '../../core/adapters/ducklake/tables.ts';
import { openAdapters } from '../../core/adapters/select.ts';
import { readCommand, type CommandSpec } from '../../core/cli.ts';
import { LakeError } from '../../core/errors.ts';
import { createLogger } from '../../core/log.ts';
import { runMain } from '../../core/process.ts';
import type { ObjectStore } from '../../core/ports/object-store.ts';
import { loadProcessorConfig } from '../config.ts';
import { importOldLake } from '../lake-import.ts';
import { maintainLake } from '../maintenance.ts';

const COMMANDS = ['init', 'compact', 'import', 'snapshots'];

const LAKE_COMMAND = {
  name: 'lake',
  usage: 'npm run lake -- <init|compact|import|snapshots> [options] [old lake]',
  description: [
    "The lake's own operations, on the lake of the environment (LAKE_DIR or S3_BUCKET/S3_PREFIX/S3_ENDPOINT, and LAKE_CATALOG):",
    "  init       create the catalog's tables (idempotent; what docker compose runs once)",
    '  compact    one maintenance pass (also `npm run compact`): merge rollup partials, write inlined rows out,',
    '             merge small files, expire snapshots older than SNAPSHOT_RETENTION_MS, delete files older than',
    '             FILE_CLEANUP_GRACE_MS that nothing needs',
    '  import     move a lake written by the previous version (Parquet under <dataset>/year=/month=/day=/, a',
    '             folder or s3://bucket/prefix) into the catalog; run twice, it adds nothing',
    '  snapshots  the newest snapshots: id, time, author, message and changes',
  ].join('\n'),
  flags: {
    all: { type: 'boolean', description: 'compact: merge the rollup partials of every day, not only the last two' },
    limit: { type: 'integer', description: 'snapshots: how many, newest first', default: 20, min: 1 },
  },
  operands: [
    {
      name: 'command',
      description: COMMANDS.join(', '),
      check: (value) => (COMMANDS.includes(value) ? undefined : `expected one of ${COMMANDS.join(', ')}`),
    },
    { name: 'old lake', description: 'import: the folder or s3://bucket/prefix of the old lake', optional: true },
  ],
} satisfies CommandSpec;

const log = createLogger(process.env.LOG_LEVEL ?? 'info', 'stderr').child({ part: 'lake' });

await runMain(log, async () => {
  const { flags, operands } = readCommand(LAKE_COMMAND);
  const [command, from] = operands;
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
      const report = await maintainLake(connection, { ...config, rollupsSinceMs: flags.all ? 0 : Date.now() - 2 * 86_400_000 }, log);
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      if (report.failures.length > 0) process.exitCode = 1;
    } else if (command === 'import') {
      if (!from) throw new LakeError('CONFIG_INVALID', 'lake: import needs the old lake, a folder or s3://bucket/prefix (see --help)');
      const old = oldLake(from);
      const report = await importOldLake(connection, old, log);
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else if (command === 'snapshots') {
      const limit = flags.limit;
      const reader = await connection.runAndReadAll(
        `SELECT snapshot_id, snapshot_time, author, commit_message, changes FROM ${LAKE}.snapshots() ORDER BY snapshot_id DESC LIMIT ${limit}`,
      );
      for (const row of reader.getRowObjectsJson()) process.stdout.write(`${JSON.stringify(row)}\n`);
    }
  } finally {
    session.close();
    await adapters.close();
  }
});

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

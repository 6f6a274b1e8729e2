// `npm run compact`: merges the small Parquet files of the lake's day folders.
//   npx tsx processor/compact-main.ts [--dataset prices] [--day 2026-11-22] [--target-bytes 134217728] [--grace-ms 60000]
// Without --dataset every dataset is compacted; without --day every day. Sources are deleted after
// the grace period (the command waits for it), so readers that listed files before finish first.
import { parseArgs } from 'node:util';
import { openAdapters } from '../core/adapters/select.ts';
import { LakeError } from '../core/errors.ts';
import { createLogger } from '../core/log.ts';
import { runMain } from '../core/process.ts';
import { DATASETS } from '../core/records/topics.ts';
import { Compactor } from './compactor.ts';

const log = createLogger().child({ part: 'compact' });

await runMain(log, async () => {
  const { values } = parseArgs({
    options: {
      dataset: { type: 'string' },
      day: { type: 'string' },
      'target-bytes': { type: 'string', default: String(128 * 1024 * 1024) },
      'grace-ms': { type: 'string', default: '60000' },
    },
  });
  const targetBytes = Number(values['target-bytes']);
  const graceMs = Number(values['grace-ms']);
  if (!Number.isInteger(targetBytes) || targetBytes <= 0)
    throw new LakeError('CONFIG_INVALID', `Invalid option: --target-bytes="${values['target-bytes']}": expected a positive integer`);
  if (!Number.isInteger(graceMs) || graceMs < 0)
    throw new LakeError('CONFIG_INVALID', `Invalid option: --grace-ms="${values['grace-ms']}": expected a non-negative integer`);
  if (values.day !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(values.day))
    throw new LakeError('CONFIG_INVALID', `Invalid option: --day="${values.day}": expected YYYY-MM-DD`);
  // Only the store is needed: no bus or cache connections.
  const adapters = await openAdapters({ ...process.env, KAFKA_BROKERS: undefined, REDIS_URL: undefined }, log);
  const compactor = await Compactor.open({ store: adapters.store, log, targetBytes, graceMs });
  try {
    const datasets = values.dataset ? [values.dataset] : Object.values(DATASETS);
    const folders = (await Promise.all(datasets.map((dataset) => compactor.dayFolders(dataset, values.day)))).flat();
    const totals = { folders: folders.length, compactions: 0, filesMerged: 0, rows: 0, deleted: 0 };
    for (const folder of folders) {
      const result = await compactor.compactDay(folder);
      totals.compactions += result.compactions;
      totals.filesMerged += result.filesMerged;
      totals.rows += result.rows;
      totals.deleted += result.deleted;
    }
    if (totals.compactions > 0 && graceMs > 0) {
      log.info({ graceMs }, 'Waiting for the grace period before deleting the merged sources');
      await new Promise((resolve) => setTimeout(resolve, graceMs));
    }
    for (const folder of folders) totals.deleted += await compactor.sweep(folder);
    log.info(totals, 'Compaction finished');
  } finally {
    await compactor.close();
    await adapters.close();
  }
});

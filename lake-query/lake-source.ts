import type { LakeLocation } from '../core/adapters/select.ts';
import { DATASETS } from '../core/records/topics.ts';
import { PRICE_COLUMNS } from '../core/records/price.ts';
import { liveParquetSql } from '../core/lake-layout.ts';
import { CANDLE_PARTIAL_COLUMNS, MERGE_CANDLE_PARTIALS_SQL } from '../core/records/candle.ts';
import { GAP_COLUMNS } from '../core/records/gap.ts';
import { MERGE_TRADE_CANDLE_PARTIALS_SQL, TRADE_CANDLE_GROUP_BY, TRADE_CANDLE_PARTIAL_COLUMNS } from '../core/records/trade-candle.ts';
import { TRADE_COLUMNS } from '../core/records/trade.ts';

/**
 * The lake's datasets as DuckDB views: raw prices, rejects, alerts, the 1-minute price rollups,
 * exchange trades, their gaps and their 1-minute rollups.
 */
export type Dataset = 'prices' | 'dead_letters' | 'alerts' | 'candles_1m' | 'trades' | 'gaps' | 'trade_candles_1m';
/** Every view lake-query, the SQL console and `npm run sql` define, in one list. */
export const LAKE_VIEWS: readonly Dataset[] = ['prices', 'dead_letters', 'alerts', 'candles_1m', 'trades', 'gaps', 'trade_candles_1m'];

const HIVE_COLUMNS = [
  ['year', 'INTEGER'],
  ['month', 'INTEGER'],
  ['day', 'INTEGER'],
] as const;

/** Columns of each view, in order, with their DuckDB types; `year/month/day` come from the hive path. */
export const VIEW_COLUMNS: Record<Dataset, readonly (readonly [string, string])[]> = {
  prices: [...PRICE_COLUMNS, ...HIVE_COLUMNS],
  dead_letters: [
    ['at', 'TIMESTAMP'],
    ['stage', 'VARCHAR'],
    ['source', 'VARCHAR'],
    ['reason', 'VARCHAR'],
    ['payload', 'VARCHAR'],
    ...HIVE_COLUMNS,
  ],
  alerts: [
    ['id', 'VARCHAR'],
    ['ts', 'TIMESTAMP'],
    ['rule', 'VARCHAR'],
    ['type', 'VARCHAR'],
    ['symbol', 'VARCHAR'],
    ['source', 'VARCHAR'],
    ['value', 'DOUBLE'],
    ['threshold', 'DOUBLE'],
    ['message', 'VARCHAR'],
    ['raised_at', 'TIMESTAMP'],
    ...HIVE_COLUMNS,
  ],
  // One row per (symbol, source, minute): the view merges the partials of the rollup files.
  candles_1m: [
    ...CANDLE_PARTIAL_COLUMNS.map(([name, type]): readonly [string, string] => [
      name,
      name === 'ticks' || name === 'raw_rows' ? 'BIGINT' : type,
    ]),
    ...HIVE_COLUMNS,
  ],
  trades: [...TRADE_COLUMNS, ...HIVE_COLUMNS],
  gaps: [...GAP_COLUMNS, ...HIVE_COLUMNS],
  // One row per (venue, market, minute): the view merges the partials of the rollup files.
  trade_candles_1m: [...TRADE_CANDLE_PARTIAL_COLUMNS, ...HIVE_COLUMNS],
};

/**
 * Views over rollup files: one row per group, the partials of every file merged by `select`
 * grouped by `groupBy`, then `replace` (a DuckDB `REPLACE` list) fixes the output types.
 */
const MERGED_VIEWS: Partial<Record<Dataset, { select: string; groupBy: string; replace?: string }>> = {
  candles_1m: {
    select: MERGE_CANDLE_PARTIALS_SQL,
    groupBy: 'minute, symbol, source',
    replace: 'ticks::BIGINT AS ticks, raw_rows::BIGINT AS raw_rows',
  },
  trade_candles_1m: { select: MERGE_TRADE_CANDLE_PARTIALS_SQL, groupBy: TRADE_CANDLE_GROUP_BY },
};

/** How DuckDB reaches one lake: statements to run once per connection, and the file glob of each dataset. */
export interface LakeSource {
  /** Printable place of the lake, for logs and health. */
  describe: string;
  /** The lake root as DuckDB names files (`/abs/folder` or `s3://bucket/prefix`), no trailing slash. */
  root: string;
  /** Run on the database before any view is made (extensions, secrets). */
  setup: string[];
  /** The glob of a dataset's Parquet files, e.g. `/data/lake/prices/** /*.parquet` (without the space). */
  glob(dataset: Dataset): string;
}

/**
 * The one place that turns a `LakeLocation` into DuckDB paths and setup. A local lake is a folder;
 * an S3 lake is read through DuckDB's httpfs extension with a secret built from the location
 * (path-style URLs, so MinIO works). httpfs is installed on first use, which needs the internet
 * once, or a DuckDB extension directory that already holds it.
 */
export function lakeSource(location: LakeLocation): LakeSource {
  if (location.kind === 'local') {
    const root = location.root.replace(/\/+$/, '');
    return { describe: root, root, setup: [], glob: (dataset) => `${root}/${folderOf(dataset)}/**/*.parquet` };
  }
  const root = `s3://${location.bucket}/${location.prefix}`.replace(/\/+$/, '');
  const secret = [
    'TYPE s3',
    `REGION ${sqlString(location.region)}`,
    `URL_STYLE ${sqlString(location.endpoint ? 'path' : 'vhost')}`,
    `USE_SSL ${location.useSsl}`,
    ...(location.endpoint ? [`ENDPOINT ${sqlString(location.endpoint)}`] : []),
    ...(location.accessKeyId ? [`KEY_ID ${sqlString(location.accessKeyId)}`] : []),
    ...(location.secretAccessKey ? [`SECRET ${sqlString(location.secretAccessKey)}`] : []),
  ];
  return {
    describe: root,
    root,
    setup: [
      'INSTALL httpfs',
      'LOAD httpfs',
      `CREATE OR REPLACE SECRET lake_s3 (${secret.join(', ')}, SCOPE ${sqlString(`s3://${location.bucket}`)})`,
    ],
    glob: (dataset) => `${root}/${folderOf(dataset)}/**/*.parquet`,
  };
}

const FOLDERS: Record<Dataset, string> = {
  prices: DATASETS.prices,
  dead_letters: DATASETS.deadLetter,
  alerts: DATASETS.alerts,
  candles_1m: DATASETS.candles1m,
  trades: DATASETS.trades,
  gaps: DATASETS.gaps,
  trade_candles_1m: DATASETS.tradeCandles1m,
};

/** The lake folder of a view's files. */
export function folderOf(dataset: Dataset): string {
  return FOLDERS[dataset];
}

/**
 * Extra SQL after a view's FROM. `alerts`: an alert published again after an alerter crash is
 * stored twice with the same id; the view keeps the first one raised. `gaps`: likewise a gap
 * recorded again after a stream reader's crash; the first one detected is kept.
 */
export const VIEW_DEDUPE: Partial<Record<Dataset, string>> = {
  alerts: 'QUALIFY row_number() OVER (PARTITION BY id ORDER BY raised_at) = 1',
  gaps: 'QUALIFY row_number() OVER (PARTITION BY id ORDER BY detected_at) = 1',
};

/** A SQL string literal. Only for paths from configuration: user input is always a bound parameter. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The view over a dataset's files; `hasFiles: false` gives an empty view with the same columns. */
export function viewSql(source: LakeSource, dataset: Dataset, hasFiles: boolean): string {
  const columns = VIEW_COLUMNS[dataset];
  if (!hasFiles) {
    const nulls = columns.map(([name, type]) => `CAST(NULL AS ${type}) AS "${name}"`).join(', ');
    return `CREATE OR REPLACE VIEW ${dataset} AS SELECT ${nulls} WHERE false`;
  }
  // Only live files: while a compaction swaps files, its sources and its output both exist, and the
  // compaction markers say which to read (core/lake-layout.ts). No union_by_name: it reads every
  // file's footer at bind time, a request per file on S3, and the processor writes one schema.
  const reader = liveParquetSql(source.root, folderOf(dataset));
  const merge = MERGED_VIEWS[dataset];
  if (merge) {
    const merged = `SELECT ${merge.select}, year, month, day FROM ${reader} GROUP BY ${merge.groupBy}, year, month, day`;
    return `CREATE OR REPLACE VIEW ${dataset} AS SELECT *${merge.replace ? ` REPLACE (${merge.replace})` : ''} FROM (${merged})`;
  }
  const dedupe = VIEW_DEDUPE[dataset] ? ` ${VIEW_DEDUPE[dataset]}` : '';
  return `CREATE OR REPLACE VIEW ${dataset} AS SELECT ${columns.map(([name]) => `"${name}"`).join(', ')} FROM ${reader}${dedupe}`;
}

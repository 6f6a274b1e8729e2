import type { LakeLocation } from '../select.ts';

/** The name the lake is attached under in every DuckDB of the project. */
export const LAKE = 'lake';

/** A SQL string literal. Only for values from configuration: user input is always a bound parameter. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A quoted SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The lake's data path as DuckDB names files: `s3://bucket/prefix/` or an absolute folder, with a trailing slash. */
export function dataPath(lake: LakeLocation): string {
  const root = lake.kind === 's3' ? `s3://${lake.bucket}/${lake.prefix}` : lake.root;
  return `${root.replace(/\/+$/, '')}/`;
}

/** The catalog's DuckLake connection string, e.g. `ducklake:sqlite:/data/lake/lake.sqlite`. */
export function catalogUri(lake: LakeLocation): string {
  return lake.catalog.kind === 'sqlite' ? `ducklake:sqlite:${lake.catalog.path}` : `ducklake:postgres:${lake.catalog.connection}`;
}

/** Printable place of the lake, for logs and health: never the catalog's password. */
export function describeLake(lake: LakeLocation): string {
  const catalog =
    lake.catalog.kind === 'sqlite'
      ? `sqlite:${lake.catalog.path}`
      : `postgres:${lake.catalog.connection.replace(/password=\S+/gi, 'password=***')} (schema ${lake.catalog.schema})`;
  return `${dataPath(lake)} (catalog ${catalog})`;
}

/** The DuckDB extensions a lake needs: DuckLake, the catalog's scanner, and httpfs for S3. */
export function extensionsOf(lake: LakeLocation): string[] {
  return ['ducklake', lake.catalog.kind === 'sqlite' ? 'sqlite_scanner' : 'postgres_scanner', ...(lake.kind === 's3' ? ['httpfs'] : [])];
}

/**
 * The statements that make a fresh DuckDB a client of the lake: its extensions (loaded from
 * `lake.extensionDir` with downloads off, else installed by DuckDB), the S3 secret, and the
 * `ATTACH` of the catalog as `lake`. The same statements serve the processor (read-write),
 * lake-query, the SQL console and `npm run sql -- --print-init` (read-only).
 */
export function attachStatements(lake: LakeLocation, options: { readOnly: boolean }): string[] {
  const extensions = extensionsOf(lake);
  const load = lake.extensionDir
    ? [
        `SET extension_directory = ${sqlString(lake.extensionDir)}`,
        'SET autoinstall_known_extensions = false',
        'SET autoload_known_extensions = false',
        ...extensions.map((name) => `LOAD ${name}`),
      ]
    : extensions.flatMap((name) => [`INSTALL ${name}`, `LOAD ${name}`]);
  const attachOptions = [
    `DATA_PATH ${sqlString(dataPath(lake))}`,
    ...(lake.catalog.kind === 'postgres' ? [`METADATA_SCHEMA ${sqlString(lake.catalog.schema)}`] : []),
    ...(options.readOnly ? ['READ_ONLY'] : []),
  ];
  return [...load, ...s3Secret(lake), `ATTACH ${sqlString(catalogUri(lake))} AS ${LAKE} (${attachOptions.join(', ')})`];
}

/** The S3 secret of an S3 lake (path-style URLs for MinIO), scoped to its bucket; none for a local lake. */
function s3Secret(lake: LakeLocation): string[] {
  if (lake.kind !== 's3') return [];
  const fields = [
    'TYPE s3',
    `REGION ${sqlString(lake.region)}`,
    `URL_STYLE ${sqlString(lake.endpoint ? 'path' : 'vhost')}`,
    `USE_SSL ${lake.useSsl}`,
    ...(lake.endpoint ? [`ENDPOINT ${sqlString(lake.endpoint)}`] : []),
    ...(lake.accessKeyId ? [`KEY_ID ${sqlString(lake.accessKeyId)}`] : []),
    ...(lake.secretAccessKey ? [`SECRET ${sqlString(lake.secretAccessKey)}`] : []),
  ];
  return [`CREATE OR REPLACE SECRET lake_s3 (${fields.join(', ')}, SCOPE ${sqlString(`s3://${lake.bucket}`)})`];
}

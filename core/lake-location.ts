import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { csvList } from './config.ts';

/** Providers whose data is made up: a chain with one of them writes to its own lake by default. */
export const SYNTHETIC_PROVIDERS: readonly string[] = ['synthetic'];

/** The default provider chain: live providers that need no key, in fallback order. */
export const DEFAULT_PROVIDERS = 'coingecko,binance,kraken,coinbase';

/** The DuckDB version every part, the CLI and the extensions share (the one of `@duckdb/node-api`). */
export const DUCKDB_VERSION = '1.5.5';

/** The name of the embedded catalog file inside LAKE_DIR. */
export const EMBEDDED_CATALOG_FILE = 'lake.sqlite';

const CATALOG = /^(postgres|sqlite):(.+)$/s;

/**
 * Where the lake lives, shared by the scraper, processor and lake-query so that all three agree
 * without talking to each other: the catalog (DuckLake's metadata database) and the data path
 * (a local folder, or an S3 bucket and prefix: S3 settings come with the real-services adapters).
 */
export const lakeLocationSchema = z.object({
  providers: csvList()
    .default(DEFAULT_PROVIDERS.split(','))
    .describe(
      `Provider chain in fallback order (comma list). \`synthetic\` or \`replay\` for offline data; the default chain is the live providers that need no key.`,
    ),
  lakeDir: z
    .string()
    .optional()
    .describe(
      'Folder of the embedded lake: its data files, and its catalog `lake.sqlite` unless LAKE_CATALOG says otherwise. Default `./data/lake`, or `./data/lake-synthetic` when PROVIDERS includes synthetic, so made-up prices never mix into a live lake.',
    ),
  lakeCatalog: z
    .string()
    .regex(CATALOG, 'expected postgres:<libpq connection string> or sqlite:<file>')
    .optional()
    .describe(
      'The DuckLake catalog database: `postgres:dbname=... host=... port=... user=... password=...` (shared by every replica; `npm run stack -- up` prints one) or `sqlite:<file>`. Default: the SQLite file `lake.sqlite` inside LAKE_DIR.',
    ),
  lakeCatalogSchema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case PostgreSQL schema name')
    .optional()
    .describe(
      'The PostgreSQL schema that holds the catalog tables. Default `cryptolake`, or `cryptolake_synthetic` when PROVIDERS includes synthetic.',
    ),
  duckdbExtensionDir: z
    .string()
    .optional()
    .describe(
      `DuckDB extension directory holding \`v${DUCKDB_VERSION}/linux_amd64/<name>.duckdb_extension\` for ducklake, sqlite_scanner, postgres_scanner and httpfs, so nothing is downloaded (\`npm run stack -- up\` fills and prints one). Default: the stack's cache (~/.cache/cryptolake/duckdb-extensions) when it holds them, else DuckDB's own folder, filled from the internet on first use.`,
    ),
});
export type LakeLocationConfig = z.infer<typeof lakeLocationSchema>;

/** The DuckLake catalog database: a SQLite file (one machine) or PostgreSQL (shared by replicas). */
export type CatalogLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; connection: string; schema: string };

/** True when the chain produces made-up prices. */
export function isSyntheticChain(providers: readonly string[]): boolean {
  return providers.some((name) => SYNTHETIC_PROVIDERS.includes(name));
}

/** The lake folder to use: the configured one, else the default for the chain. */
export function resolveLakeDir(config: LakeLocationConfig): string {
  if (config.lakeDir) return config.lakeDir;
  return isSyntheticChain(config.providers) ? './data/lake-synthetic' : './data/lake';
}

/** The catalog the configuration names, else the embedded SQLite file inside the lake folder. */
export function resolveCatalog(config: LakeLocationConfig): CatalogLocation {
  const match = config.lakeCatalog ? CATALOG.exec(config.lakeCatalog) : null;
  if (match?.[1] === 'postgres') {
    const schema = config.lakeCatalogSchema ?? (isSyntheticChain(config.providers) ? 'cryptolake_synthetic' : 'cryptolake');
    return { kind: 'postgres', connection: match[2]!.trim(), schema };
  }
  const path = match?.[1] === 'sqlite' ? match[2]! : join(resolveLakeDir(config), EMBEDDED_CATALOG_FILE);
  return { kind: 'sqlite', path: resolve(path) };
}

/**
 * The folder DuckDB loads its extensions from: the configured one, else the local stack's cache
 * when it holds the ducklake extension of our DuckDB version, else undefined (DuckDB's own folder,
 * filled by INSTALL from the internet).
 */
export function resolveExtensionDir(config: Pick<LakeLocationConfig, 'duckdbExtensionDir'>): string | undefined {
  if (config.duckdbExtensionDir) return resolve(config.duckdbExtensionDir);
  const cache = join(process.env.CRYPTOLAKE_CACHE ?? join(homedir(), '.cache', 'cryptolake'), 'duckdb-extensions');
  return existsSync(join(cache, `v${DUCKDB_VERSION}`, 'linux_amd64', 'ducklake.duckdb_extension')) ? cache : undefined;
}

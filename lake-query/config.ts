import { z } from 'zod';
import { loadConfig, positiveInt } from '../core/config.ts';
import { lakeLocationSchema } from '../core/lake-location.ts';

/** Settings of lake-query: where it listens and how much DuckDB may use. The lake's place comes from core. */
export const lakeQueryConfigSchema = lakeLocationSchema.extend({
  port: z.coerce
    .number({ error: 'expected a port number' })
    .int('expected a whole number')
    .min(0, 'expected a port from 0 to 65535')
    .max(65_535, 'expected a port from 0 to 65535')
    .default(8080)
    .describe('TCP port of the HTTP API and dashboard. Default 8080; 0 picks a free port.'),
  host: z.string().min(1).default('127.0.0.1').describe('Interface the HTTP server binds to. Default `127.0.0.1` (this machine only).'),
  queryTimeoutMs: positiveInt().default(10_000).describe('Longest a lake query may run before it is interrupted, in ms. Default 10000.'),
  duckdbMemoryLimit: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)$/i, 'expected a size such as 512MB or 1GB')
    .default('1GB')
    .describe('Memory DuckDB may use for queries (DuckDB `memory_limit`), e.g. `512MB`. Default `1GB`.'),
  duckdbThreads: positiveInt().default(2).describe('Threads DuckDB may use per query (DuckDB `threads`). Default 2.'),
  duckdbExtensionDir: z
    .string()
    .optional()
    .describe(
      "DuckDB extension directory holding `v<version>/linux_amd64/httpfs.duckdb_extension`, for reading an S3 lake without internet (`npm run stack -- up` prints one). Default: DuckDB's own (~/.duckdb/extensions), filled by INSTALL httpfs.",
    ),
  duckdbConnections: positiveInt().default(4).describe('Queries that may run at once; more wait their turn. Default 4.'),
});
export type LakeQueryConfig = z.infer<typeof lakeQueryConfigSchema>;

/** Reads lake-query's configuration; throws `CONFIG_INVALID` naming the variable when a value is wrong. */
export function loadLakeQueryConfig(env: Record<string, string | undefined> = process.env): LakeQueryConfig {
  return loadConfig(lakeQueryConfigSchema, env);
}

import { z } from 'zod';
import { booleanFlag, csvList, loadConfig, positiveInt } from '../core/config.ts';
import { lakeLocationSchema } from '../core/lake-location.ts';
import { topicsConfigSchema } from '../core/records/topics.ts';
import { isLoopback, LOOPBACK_HOSTS } from './http/hygiene.ts';

/** Settings of lake-query: where it listens and how much DuckDB may use. The lake's place comes from core. */
export const lakeQueryConfigSchema = lakeLocationSchema.extend(topicsConfigSchema.shape).extend({
  port: z.coerce
    .number({ error: 'expected a port number' })
    .int('expected a whole number')
    .min(0, 'expected a port from 0 to 65535')
    .max(65_535, 'expected a port from 0 to 65535')
    .default(8080)
    .describe('TCP port of the HTTP API and dashboard. Default 8080; 0 picks a free port.'),
  host: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe(
      'Interface the HTTP server binds to. Default `127.0.0.1` (this machine only). Any other interface (`0.0.0.0`, a LAN address) needs API_TOKEN: without it the start stops (see EXPOSE_WITHOUT_TOKEN).',
    ),
  exposeWithoutToken: booleanFlag()
    .default(false)
    .describe(
      'Lets HOST be beyond loopback without API_TOKEN: only for a container whose port is published on loopback alone (docker-compose.yml does, `127.0.0.1:8080`). The Host allow-list stays on the loopback names. Default false.',
    ),
  allowedHosts: csvList()
    .optional()
    .describe(
      'Host names the server answers to (the `Host` header; comma list, e.g. `lake.example.com`), besides `localhost`, `127.0.0.1` and `[::1]`; any other name gets 403, so a DNS-rebinding page cannot reach the API. Bound beyond loopback with API_TOKEN and unset: every name (the token guards it).',
    ),
  queryTimeoutMs: positiveInt().default(10_000).describe('Longest a lake query may run before it is interrupted, in ms. Default 10000.'),
  duckdbMemoryLimit: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)$/i, 'expected a size such as 512MB or 1GB')
    .default('1GB')
    .describe('Memory DuckDB may use for queries (DuckDB `memory_limit`), e.g. `512MB`. Default `1GB`.'),
  duckdbThreads: positiveInt().default(2).describe('Threads DuckDB may use per query (DuckDB `threads`). Default 2.'),
  duckdbConnections: positiveInt().default(4).describe('Queries that may run at once; more wait their turn. Default 4.'),
  apiToken: z
    .string()
    .min(16, 'expected a token of at least 16 characters')
    .optional()
    .describe(
      'Access token for the API and the page: requests need `Authorization: Bearer <token>` or the cookie set by opening `/?token=<token>`. Unset: no token (bind to 127.0.0.1 only).',
    ),
  corsOrigins: csvList()
    .optional()
    .describe('Origins allowed to call the API from a browser (comma list, e.g. `https://ops.example.com`). Unset: no CORS header at all.'),
  sqlMaxRows: positiveInt().default(10_000).describe('Most rows `POST /api/sql` returns; the answer says when it cut. Default 10000.'),
  sqlMaxBytes: positiveInt()
    .default(4_194_304)
    .describe(
      'Most bytes of rows (as JSON) `POST /api/sql` returns; the answer says when it cut (`truncatedBy`). Default 4194304 (4 MiB).',
    ),
  sqlTimeoutMs: positiveInt()
    .default(5_000)
    .describe(
      'Longest a `POST /api/sql` query may run, in ms: it is answered 422 at this time, interrupted, and its worker killed 1 s later if still busy. Default 5000.',
    ),
  sqlMemoryLimit: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)$/i, 'expected a size such as 256MB')
    .default('256MB')
    .describe(
      'Memory one `POST /api/sql` worker process may take beyond its idle size, capped by the operating system (RLIMIT_DATA); DuckDB inside gets 3/4 of it as `memory_limit`, nothing spills to disk. Default `256MB`.',
    ),
  sqlWorkers: positiveInt()
    .default(2)
    .describe(
      'Worker processes of `POST /api/sql`, each running one query at a time with one DuckDB thread, at a lower CPU priority. Default 2.',
    ),
  sqlQueueMax: z.coerce
    .number({ error: 'expected a number' })
    .int('expected a whole number')
    .min(0, 'expected 0 or more')
    .default(4)
    .describe('`POST /api/sql` queries that may wait for a busy worker; one more is answered 429 at once. Default 4.'),
  sqlQueueWaitMs: positiveInt()
    .default(10_000)
    .describe(
      'Longest a `POST /api/sql` query waits for a worker before it is answered 429, in ms: long enough for a query ahead of it to reach SQL_TIMEOUT_MS and its worker to be replaced. Default 10000.',
    ),
  cacheTtlMs: z.coerce
    .number({ error: 'expected a number' })
    .int('expected a whole number')
    .min(0, 'expected 0 or more')
    .default(2_000)
    .describe(
      'How long a dashboard query result is fresh, in ms; after that the next ask still gets it while one query refreshes it (up to 5 times this old), so a polling page never waits for the lake. 0 turns the cache off. Default 2000.',
    ),
  streamMaxBuffered: positiveInt()
    .default(1_000)
    .describe('Price events one `/api/stream` client may have waiting; a client further behind is disconnected. Default 1000.'),
  streamWriteTimeoutMs: positiveInt()
    .default(10_000)
    .describe(
      'Longest one `/api/stream` event may wait for its client to read it, in ms; a client slower than that is disconnected, whatever the event rate. Default 10000.',
    ),
  fileCheckIntervalMs: positiveInt()
    .default(30_000)
    .describe(
      "How often `/api/health` compares the catalog's data files with the data path (missing files, sizes that differ), at most, in ms. Default 30000.",
    ),
  warmUp: booleanFlag()
    .default(true)
    .describe(
      "Asks the lake once at start, in the background, what the dashboard asks first (the latest prices, the charts of the symbol it opens on at each of its ranges, the indicators, the busiest trade market's candles and tape), so the first visitor does not wait for a fresh DuckDB to read the catalog and the files' metadata; the end is logged with its duration, a failure as a warning, and the server answers meanwhile and anyway. Default true.",
    ),
});

/** Refuses a HOST beyond loopback without API_TOKEN, naming HOST. */
const exposureRule = lakeQueryConfigSchema.superRefine((config, ctx) => {
  if (!isLoopback(config.host) && !config.apiToken && !config.exposeWithoutToken) {
    ctx.addIssue({
      code: 'custom',
      path: ['host'],
      message:
        'binding beyond loopback needs API_TOKEN (16 characters or more), else anyone who reaches the port can read the lake and run SQL',
    });
  }
});
export type LakeQueryConfig = z.infer<typeof lakeQueryConfigSchema>;

/**
 * The Host names lake-query answers to: the loopback names (and ALLOWED_HOSTS) unless it is bound
 * beyond loopback behind a token, where ALLOWED_HOSTS, if set, is the list, else every name.
 */
export function allowedHostsOf(config: LakeQueryConfig): readonly string[] | 'any' {
  if (isLoopback(config.host) || !config.apiToken) return [...LOOPBACK_HOSTS, ...(config.allowedHosts ?? [])];
  return config.allowedHosts ?? 'any';
}

/** Reads lake-query's configuration; throws `CONFIG_INVALID` naming the variable when a value is wrong. */
export function loadLakeQueryConfig(env: Record<string, string | undefined> = process.env): LakeQueryConfig {
  return loadConfig(exposureRule, env);
}

/**
 * The SQL console under a mixed load, against `npm start` as a user runs it (one process: scraper
 * on synthetic prices, processor, lake-query, the console's worker processes), on a lake of
 * `--rows` prices over 30 days (built first, as maintenance leaves it). Two stretches:
 *  - baseline, `--baseline-seconds`: dashboard users and SSE readers only;
 *  - mixed, `--seconds`: the same, and console clients at once.
 * Dashboard users poll what the page asks (latest, candles at two intervals, indicators, pipeline,
 * partitions), one round per second each (the page itself asks every 5 to 10 s), with the query
 * cache of `npm start` (CACHE_TTL_MS 2000; `--cache-ttl-ms 0` makes every request a DuckDB query).
 * SSE readers follow `GET /api/stream` (the scraper publishes every 200 ms). Console clients send,
 * one after the other each, heavy queries (past the time or memory limit: list, string, regex,
 * lambda, recursive, join and sort shapes), hostile ones (refused) and analytical ones over the
 * lake: at most `--console-clients` in flight, so the load is bounded in count.
 * Measures per stretch the dashboard's latency (p50, p99, max) and failures, the events the SSE
 * readers got, the console's answers by status and their latency, the server process's RSS and
 * each console worker's (from /proc, every 500 ms) and the machine's load average; at the end the
 * workers killed (`/metrics`) and the server's warnings and errors. Defaults otherwise.
 *
 *   npx tsx bench/console-load.ts [--seconds 300] [--baseline-seconds 60] [--rows 1000000]
 *     [--dashboard-users 4] [--sse-readers 20] [--console-clients 4] [--cache-ttl-ms 2000]
 *     [--quick]   (--quick = 60 s after 20 s of baseline, 200,000 rows)
 *
 * The lake folder is deleted at the end. Writes bench/results/console-load.json.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveExtensionDir } from '../core/lake-location.ts';
import { BENCH_SYMBOLS, buildPriceLake } from './price-lake.ts';
import { ROOT, localLake, median, percentile, round, sleep, writeResult } from './support.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    'baseline-seconds': { type: 'string' },
    'cache-ttl-ms': { type: 'string', default: '2000' },
    rows: { type: 'string' },
    'dashboard-users': { type: 'string', default: '4' },
    'sse-readers': { type: 'string', default: '20' },
    'console-clients': { type: 'string', default: '4' },
    quick: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds ?? (values.quick ? 60 : 300));
const ROWS = Number(values.rows ?? (values.quick ? 200_000 : 1_000_000));
const DASHBOARD_USERS = Number(values['dashboard-users']);
const SSE_READERS = Number(values['sse-readers']);
const CONSOLE_CLIENTS = Number(values['console-clients']);
const BASELINE_SECONDS = Number(values['baseline-seconds'] ?? (values.quick ? 20 : 60));
const CACHE_TTL_MS = Number(values['cache-ttl-ms']);
const DAY_MS = 86_400_000;

/** Queries past the limits (SQL_TIMEOUT_MS 5000, SQL_MEMORY_LIMIT 256MB by default): list, string, regex, lambda, recursive, join, sort. */
const HEAVY = [
  'SELECT len(list_transform(range(300000000), x -> x + 1)) AS n',
  'SELECT list(range) FROM range(60000000)',
  "SELECT len(repeat('x', 2000000000)) AS n",
  "SELECT len(string_agg(range::VARCHAR, ',')) FROM range(300000000)",
  "SELECT regexp_replace(repeat('a', 200000000), 'a', 'bb', 'g') IS NULL",
  "SELECT levenshtein(repeat('a', 40000), repeat('b', 40000)) AS d",
  "SELECT sum(len(regexp_extract_all(repeat('ab', 10000000), '(a)(b)'))) FROM range(10)",
  'SELECT list_reduce(list_transform(range(50000000), x -> x::VARCHAR), (a, b) -> a || b) IS NULL',
  "WITH RECURSIVE r(n, s) AS (SELECT 1, 'x' UNION ALL SELECT n + 1, s || s FROM r WHERE n < 40) SELECT max(len(s)) FROM r",
  'SELECT count(DISTINCT a.range::VARCHAR || b.range::VARCHAR) FROM range(30000) a, range(30000) b',
  "SELECT count(*) FROM range(100000) a, range(100000) b WHERE md5(a.range::VARCHAR || b.range::VARCHAR) LIKE 'fffff%'",
  'SELECT count(*) FROM prices a JOIN prices b ON a.symbol = b.symbol',
  'SELECT range FROM range(300000000) ORDER BY random() LIMIT 1',
];

/** Queries the console refuses: files, plans, settings, view definitions, file names, statements. */
const HOSTILE = [
  "SELECT * FROM read_text('/etc/passwd')",
  "SELECT json_serialize_plan('SELECT * FROM prices')",
  "SELECT current_setting('allowed_directories')",
  'SELECT pg_get_viewdef(1)',
  'SELECT filename FROM prices LIMIT 1',
  'SELECT * FROM duckdb_settings()',
  "COPY prices TO '/tmp/x.csv'",
  "ATTACH '/tmp/x.db'",
];

/** Analytical queries over the lake, answered. */
const BENIGN = [
  'SELECT symbol, count(*) AS n, avg(price_usd) AS mean FROM prices GROUP BY ALL ORDER BY 1',
  `SELECT time_bucket(INTERVAL 1 HOUR, ts) AS hour, arg_min(price_usd, ts) AS open, max(price_usd) AS high,
          min(price_usd) AS low, arg_max(price_usd, ts) AS close FROM prices WHERE symbol = 'ETH' GROUP BY ALL ORDER BY hour`,
  `SELECT symbol, ts, price_usd / lag(price_usd) OVER (PARTITION BY symbol ORDER BY ts) - 1 AS ret
     FROM prices WHERE ts > now() - INTERVAL 1 DAY QUALIFY ret IS NOT NULL ORDER BY abs(ret) DESC LIMIT 20`,
  'SELECT * FROM candles_1m ORDER BY minute DESC LIMIT 500',
];

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** RSS of a process in MB, from /proc (0 when it is gone). */
async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
}

/** Pids of the console workers of `parent`. */
async function workerPids(parent: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== parent) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('console/worker.ts')) pids.push(Number(entry));
  }
  return pids;
}

/** Timed GETs and POSTs, by kind. */
interface Sample {
  kind: string;
  status: number;
  ms: number;
}

async function timed(kind: string, url: string, init?: RequestInit): Promise<Sample> {
  const started = performance.now();
  try {
    const response = await fetch(url, init);
    await response.arrayBuffer();
    return { kind, status: response.status, ms: performance.now() - started };
  } catch {
    return { kind, status: 0, ms: performance.now() - started };
  }
}

function summary(samples: Sample[]) {
  const ms = samples.map((s) => s.ms);
  return {
    requests: samples.length,
    p50Ms: round(percentile(ms, 50), 1),
    p99Ms: round(percentile(ms, 99), 1),
    maxMs: round(Math.max(...ms), 1),
    byStatus: Object.fromEntries(
      [...new Set(samples.map((s) => s.status))].sort().map((s) => [s, samples.filter((x) => x.status === s).length]),
    ),
  };
}

/** Warnings and errors of the server's log, counted by message. */
function logSummary(lines: string[]) {
  const counts = (level: number) => {
    const messages = new Map<string, number>();
    for (const line of lines) {
      let entry: { level?: number; msg?: string; err?: string | { message?: string } };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      if (entry.level !== level) continue;
      const cause = typeof entry.err === 'string' ? entry.err : entry.err?.message;
      const key = `${entry.msg ?? ''}${cause ? `: ${cause.split('\n')[0]!.slice(0, 200)}` : ''}`;
      messages.set(key, (messages.get(key) ?? 0) + 1);
    }
    return Object.fromEntries(messages);
  };
  return { warnings: counts(40), errors: counts(50) };
}

const root = await mkdtemp(join(tmpdir(), 'cryptolake-console-load-'));
const end = Date.now();
process.stdout.write(`Building a lake of ${ROWS.toLocaleString('en-US')} prices over 30 days in ${root}\n`);
const built = await buildPriceLake(localLake(root, resolveExtensionDir({ duckdbExtensionDir: process.env.DUCKDB_EXTENSION_DIR })), {
  rows: ROWS,
  days: 30,
  end,
});
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], {
  cwd: ROOT,
  env: {
    ...process.env,
    PROVIDERS: 'synthetic',
    SYMBOLS: BENCH_SYMBOLS.join(','),
    LAKE_DIR: root,
    PORT: String(port),
    POLL_INTERVAL_MS: '200',
    CACHE_TTL_MS: String(CACHE_TTL_MS),
    LOG_LEVEL: 'warn',
    NODE_NO_WARNINGS: '1',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const logLines: string[] = [];
server.stdout.on('data', (chunk: Buffer) => logLines.push(...chunk.toString().trim().split('\n').filter(Boolean)));
const deadline = Date.now() + 120_000;
while (
  !(await fetch(`${url}/api/health`).then(
    (r) => r.ok,
    () => false,
  ))
) {
  if (Date.now() > deadline || server.exitCode !== null) throw new Error('npm start did not answer within 120 s');
  await sleep(500);
}
process.stdout.write(`npm start answers at ${url}\n`);

/** One stretch of load: dashboard users and SSE readers, and console clients when `withConsole`. */
async function phase(seconds: number, withConsole: boolean) {
  const stopAt = Date.now() + seconds * 1_000;
  const running = () => Date.now() < stopAt;
  const dashboard: Sample[] = [];
  const consoleAnswers: Sample[] = [];
  const rss = { server: [] as number[], workerMax: 0, workers: new Set<number>() };
  const load = [loadavg()[0]!];

  const sampler = (async () => {
    while (running()) {
      rss.server.push(await rssMb(server.pid!));
      for (const pid of await workerPids(server.pid!)) {
        rss.workers.add(pid);
        rss.workerMax = Math.max(rss.workerMax, await rssMb(pid));
      }
      await sleep(500);
    }
  })();

  const users = Array.from({ length: DASHBOARD_USERS }, async (_, user) => {
    const symbol = BENCH_SYMBOLS[user % BENCH_SYMBOLS.length];
    const monthAgo = new Date(end - 30 * DAY_MS).toISOString();
    const paths = [
      '/api/latest',
      `/api/candles?symbol=${symbol}&interval=1m`,
      `/api/candles?symbol=${symbol}&interval=1h&from=${monthAgo}`,
      `/api/indicators?symbol=${symbol}&interval=1h`,
      '/api/pipeline',
      '/api/partitions',
    ];
    while (running()) {
      const began = performance.now();
      for (const path of paths) dashboard.push(await timed(path.split('?')[0]!, `${url}${path}`));
      await sleep(Math.max(0, 1_000 - (performance.now() - began)));
    }
  });

  const sse = { events: 0, readersConnected: 0, errors: 0 };
  const abort = new AbortController();
  const readers = Array.from({ length: SSE_READERS }, async () => {
    try {
      const response = await fetch(`${url}/api/stream`, { signal: abort.signal });
      if (!response.ok || !response.body) throw new Error(`status ${response.status}`);
      sse.readersConnected += 1;
      const decoder = new TextDecoder();
      const reader = response.body.getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        sse.events += (decoder.decode(chunk.value, { stream: true }).match(/event: price\n/g) ?? []).length;
      }
    } catch {
      if (running()) sse.errors += 1;
    }
  });

  const mix = [...HEAVY, ...HOSTILE, ...BENIGN];
  const clients = Array.from({ length: withConsole ? CONSOLE_CLIENTS : 0 }, async (_, client) => {
    for (let i = client; running(); i += CONSOLE_CLIENTS) {
      const sql = mix[i % mix.length]!;
      const kind = HEAVY.includes(sql) ? 'heavy' : HOSTILE.includes(sql) ? 'hostile' : 'benign';
      consoleAnswers.push(
        await timed(kind, `${url}/api/sql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ sql }),
        }),
      );
    }
  });

  await Promise.all([...users, ...clients, sampler]);
  abort.abort();
  await Promise.all(readers);
  load.push(loadavg()[0]!);
  if (server.exitCode !== null || server.signalCode !== null) {
    process.stderr.write(`${logLines.slice(-20).join('\n')}\n`);
    throw new Error(`npm start stopped during the load (${server.signalCode ?? `exit code ${server.exitCode}`})`);
  }
  const byKind = (kind: string) => summary(consoleAnswers.filter((s) => s.kind === kind));
  return {
    seconds,
    machineLoad1m: { start: round(load[0]!, 1), end: round(load[1]!, 1) },
    dashboard: summary(dashboard),
    dashboardByRoute: Object.fromEntries(
      [...new Set(dashboard.map((s) => s.kind))].map((kind) => [kind, summary(dashboard.filter((s) => s.kind === kind))]),
    ),
    sse: { ...sse, eventsPerReaderPerSecond: round(sse.events / Math.max(1, SSE_READERS) / seconds, 1) },
    ...(withConsole
      ? { console: { all: summary(consoleAnswers), heavy: byKind('heavy'), hostile: byKind('hostile'), benign: byKind('benign') } }
      : {}),
    serverRss: { startMb: round(rss.server[0] ?? 0), medianMb: round(median(rss.server)), maxMb: round(Math.max(...rss.server)) },
    workers: { seen: rss.workers.size, rssMaxMb: round(rss.workerMax) },
  };
}

process.stdout.write(`Baseline: dashboard users and SSE readers for ${BASELINE_SECONDS} s\n`);
const baseline = await phase(BASELINE_SECONDS, false);
process.stdout.write(`Mixed: the same, with ${CONSOLE_CLIENTS} console clients, for ${SECONDS} s\n`);
const mixed = await phase(SECONDS, true);
const metrics = await (await fetch(`${url}/metrics`)).text();
const killed = [...metrics.matchAll(/^sql_console_workers_killed_total\{reason="(\w+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]);
server.kill('SIGINT');
await once(server, 'exit');
await rm(root, { recursive: true, force: true });

const result = {
  at: new Date().toISOString(),
  seconds: SECONDS,
  cpus: cpus().length,
  lake: { rows: built.rows, files: built.files },
  load: { dashboardUsers: DASHBOARD_USERS, sseReaders: SSE_READERS, consoleClients: CONSOLE_CLIENTS, cacheTtlMs: CACHE_TTL_MS },
  baseline,
  mixed,
  workersKilled: Object.fromEntries(killed),
  serverLog: logSummary(logLines),
  node: process.version,
};
await writeResult(values.quick ? 'console-load-quick' : 'console-load', result);

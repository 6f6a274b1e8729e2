import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import { StatusBoard } from '../../core/status-board.ts';
import { waitFor } from '../../core/testing/wait.ts';
import { FixtureLake } from '../../tests/support/fixture-lake.ts';
import { createApp } from '../http/app.ts';
import { Lake } from '../lake.ts';
import { createLakeQueries } from '../queries.ts';
import { SqlSandbox, parseSize } from '../sql-sandbox.ts';
import { WORKER_NICENESS } from './worker-process.ts';

const T0 = Date.parse('2026-03-02T05:00:00Z');
const TIMEOUT_MS = 2_000;
const MEMORY_LIMIT = '128MB';
/** Time an answer may take past its deadline: the server answers at the deadline, not when the worker stops. */
const MARGIN_MS = 1_000;
/** Growth of the server's own RSS the whole corpus may cause (today's in-process console grew by gigabytes). */
const SERVER_RSS_GROWTH_MB = 150;

/**
 * Resource exhaustion at sizes past the limits, by shape: each must be answered 422 naming the
 * limit it hit (or 200 with an answer that says it was cut), within the deadline plus a margin,
 * with the server's RSS under its bound, and a benign query right after must be answered right.
 */
const EXHAUSTION: { shape: string; sql: string; limit: RegExp }[] = [
  { shape: 'list over a large range', sql: 'SELECT len(list_transform(range(300000000), x -> x + 1)) AS n', limit: /memory/ },
  { shape: 'list aggregate', sql: 'SELECT list(range) FROM range(30000000)', limit: /memory/ },
  {
    shape: 'list of strings',
    sql: "SELECT sum(len(list_transform(range(5000000), x -> repeat('ab', 50)))) FROM range(200)",
    limit: /memory/,
  },
  { shape: 'one huge string', sql: "SELECT len(repeat('x', 2000000000)) AS n", limit: /memory/ },
  { shape: 'string aggregate', sql: "SELECT len(string_agg(range::VARCHAR, ',')) FROM range(300000000)", limit: /memory/ },
  { shape: 'regex over a huge string', sql: "SELECT regexp_replace(repeat('a', 200000000), 'a', 'bb', 'g') IS NULL", limit: /memory|time/ },
  {
    shape: 'regex that ignores the interrupt',
    sql: "SELECT sum(len(regexp_extract_all(repeat('ab', 10000000), '(a)(b)'))) FROM range(10)",
    limit: /time|memory/,
  },
  {
    shape: 'lambda folding strings',
    sql: 'SELECT list_reduce(list_transform(range(50000000), x -> x::VARCHAR), (a, b) -> a || b) IS NULL',
    limit: /memory|time/,
  },
  {
    shape: 'lambda per row',
    sql: 'SELECT sum(list_sum(list_transform(range(20000), x -> x * y.range))) FROM range(100000000) y',
    limit: /time|memory/,
  },
  {
    shape: 'recursive doubling',
    sql: "WITH RECURSIVE r(n, s) AS (SELECT 1, 'x' UNION ALL SELECT n + 1, s || s FROM r WHERE n < 40) SELECT max(len(s)) FROM r",
    limit: /memory/,
  },
  {
    shape: 'recursive without end',
    sql: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r',
    limit: /memory|time/,
  },
  {
    shape: 'cross join into a hash table',
    sql: 'SELECT count(DISTINCT a.range::VARCHAR || b.range::VARCHAR) FROM range(20000) a, range(20000) b',
    // Memory on a quiet machine; on a loaded one the time limit can come first.
    limit: /memory|time/,
  },
  {
    shape: 'cross join scanning',
    sql: "SELECT count(*) FROM range(100000) a, range(100000) b WHERE md5(a.range::VARCHAR || b.range::VARCHAR) LIKE 'fffff%'",
    limit: /time/,
  },
  {
    shape: 'join of two large ranges',
    sql: 'SELECT count(*) FROM range(60000000) a JOIN range(60000000) b ON a.range = b.range',
    limit: /memory|time/,
  },
  { shape: 'sort of a large range', sql: 'SELECT range FROM range(200000000) ORDER BY random() LIMIT 1', limit: /memory|time/ },
];

/** Pids of this process's console workers. */
function workerPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('console/worker.ts')) pids.push(Number(entry));
    } catch {
      // The process ended while being looked at.
    }
  }
  return pids;
}

describe('SQL console under resource exhaustion', () => {
  let fixture: FixtureLake;
  let lake: Lake;
  let sandbox: SqlSandbox;
  let app: ReturnType<typeof createApp>;
  const metrics = new Metrics();
  let peakRss = 0;
  let sampler: NodeJS.Timeout;

  const post = async (sql: string) => {
    const started = performance.now();
    const response = await app.request('/api/sql', {
      method: 'POST',
      body: JSON.stringify({ sql }),
      headers: { 'content-type': 'application/json' },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, ms: performance.now() - started, response };
  };
  const benign = async () => {
    const { status, body } = await post('SELECT count(*)::INTEGER AS n, max(price_usd) AS top FROM prices');
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.rows, [[3, 3_000]]);
  };
  const rssMb = () => Math.round(process.memoryUsage().rss / 1e6);
  // Each case starts with every worker idle (the one killed by the case before replaced), so
  // its time is the query's own, not a wait for a worker.
  const allIdle = () => waitFor(() => sandbox.status().idle === 2, 30_000, 'both workers idle');

  before(async () => {
    fixture = await FixtureLake.create();
    await fixture.writePrices([
      { symbol: 'BTC', ts: T0, price: 100 },
      { symbol: 'BTC', ts: T0 + 60_000, price: 110 },
      { symbol: 'ETH', ts: T0, price: 3_000 },
    ]);
    lake = await Lake.open(
      fixture.location,
      { queryTimeoutMs: 5_000, memoryLimit: '256MB', threads: 1, connections: 2 },
      silentLogger,
      metrics,
    );
    sandbox = await SqlSandbox.open(fixture.location, {
      maxRows: 1_000,
      maxBytes: 100_000,
      timeoutMs: TIMEOUT_MS,
      memoryLimit: MEMORY_LIMIT,
      threads: 1,
      workers: 2,
      queueMax: 2,
      queueWaitMs: 10_000,
      metrics,
    });
    app = createApp({
      queries: createLakeQueries(lake),
      lake,
      sql: sandbox,
      checks: {},
      statusBoard: new StatusBoard(new MemoryCache()),
      metrics,
      dashboardDir: fixture.root,
      synthetic: false,
      log: silentLogger,
    });
    await benign();
    sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  });

  after(async () => {
    clearInterval(sampler);
    await sandbox.close();
    await lake.close();
    await fixture.remove();
  });

  it('runs every worker under an operating-system memory cap, at a lower CPU priority', () => {
    const pids = workerPids();
    assert.equal(pids.length, 2, `workers ${pids.join(', ')}`);
    for (const pid of pids) {
      const limit = /^Max data size\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
      const data = Number(/^VmData:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
      assert.ok(limit, `worker ${pid} has a data limit`);
      assert.equal(limit[1], limit[2], 'soft and hard limit alike: the worker cannot raise it');
      // The cap is the idle data segment plus SQL_MEMORY_LIMIT.
      const headroom = Number(limit[1]) - data;
      assert.ok(
        headroom > parseSize(MEMORY_LIMIT) * 0.8 && headroom <= parseSize(MEMORY_LIMIT),
        `worker ${pid}: ${headroom} bytes of headroom`,
      );
      assert.equal(getPriority(pid), WORKER_NICENESS);
    }
  });

  for (const { shape, sql, limit } of EXHAUSTION) {
    it(`answers a ${shape} with 422 naming the limit, in time, with the server's memory flat, then answers the next query`, async () => {
      await allIdle();
      const before = rssMb();
      const { status, body, ms } = await post(sql);
      assert.equal(status, 422, `${shape}: ${JSON.stringify(body)}`);
      assert.match(
        String(body.error),
        /^sql: stopped at the (time limit of 2000 ms \(SQL_TIMEOUT_MS\)|memory limit of 128MB \(SQL_MEMORY_LIMIT\))/,
      );
      assert.match(String(body.error), limit);
      assert.ok(ms < TIMEOUT_MS + MARGIN_MS, `${shape}: answered in ${Math.round(ms)} ms`);
      assert.ok(peakRss / 1e6 < before + SERVER_RSS_GROWTH_MB, `${shape}: server RSS ${before} -> peak ${Math.round(peakRss / 1e6)} MB`);
      await benign();
    });
  }

  it('cuts an answer at its byte cap and says so, with the server memory flat', async () => {
    const { status, body } = await post("SELECT range::INTEGER AS n, repeat('x', 1000) AS filler FROM range(100000)");
    assert.equal(status, 200, JSON.stringify(body).slice(0, 300));
    assert.equal(body.truncated, true);
    assert.equal(body.truncatedBy, 'bytes');
    assert.equal(body.maxBytes, 100_000);
    const rows = body.rows as [number, string][];
    // As many rows as fit: 1,006 to 1,007 bytes each and a comma, in a JSON array of at most 100,000 bytes.
    assert.equal(rows.length, 99);
    assert.deepEqual(rows.at(-1)![0], 98);
    assert.ok(Buffer.byteLength(JSON.stringify(rows)) <= 100_000);
    await benign();
  });

  it('kills a worker whose query ignores its interrupt, replaces it, and keeps answering', async () => {
    const killed = async () => (await metrics.registry.getSingleMetric('sql_console_workers_killed_total')!.get()).values;
    const before = (await killed()).find((v) => v.labels.reason === 'deadline')?.value ?? 0;
    const pidsBefore = workerPids();
    await allIdle();
    // levenshtein of two 40,000-character strings runs ~12 s and looks at no interrupt (measured).
    const { status, body, ms } = await post("SELECT levenshtein(repeat('a', 40000), repeat('b', 40000)) AS d");
    assert.equal(status, 422);
    assert.match(String(body.error), /time limit of 2000 ms/);
    assert.ok(ms < TIMEOUT_MS + MARGIN_MS, `answered in ${Math.round(ms)} ms`);
    await waitFor(
      async () => ((await killed()).find((v) => v.labels.reason === 'deadline')?.value ?? 0) > before,
      5_000,
      'the worker killed after its grace',
    );
    await waitFor(
      () => workerPids().length === 2 && workerPids().some((pid) => !pidsBefore.includes(pid)),
      20_000,
      'a fresh worker in its place',
    );
    await benign();
  });

  it('replaces a worker killed from outside, and answers meanwhile', async () => {
    await allIdle();
    const [victim] = workerPids();
    process.kill(victim!, 'SIGKILL');
    await benign();
    await waitFor(() => workerPids().length === 2 && !workerPids().includes(victim!), 20_000, 'a fresh worker process');
    await allIdle();
    await benign();
  });

  it("queues parallel heavy queries within a bounded wait, answers the rest 429, and never starves the dashboard's queries", async () => {
    await allIdle();
    const heavy = "SELECT count(*) FROM range(100000) a, range(100000) b WHERE md5(a.range::VARCHAR || b.range::VARCHAR) LIKE 'fffff%'";
    const started = performance.now();
    const answers = Promise.all(Array.from({ length: 6 }, () => post(heavy)));
    const dashboard: number[] = [];
    let settled = false;
    void answers.finally(() => (settled = true));
    while (!settled) {
      const began = performance.now();
      const response = await app.request('/api/latest');
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { prices: unknown[] }).prices.length, 2);
      dashboard.push(performance.now() - began);
    }
    const results = await answers;
    const statuses = results.map((r) => r.status).sort();
    // Two run to their deadline, two wait for them and run theirs, two find the queue full at once.
    assert.deepEqual(statuses, [422, 422, 422, 422, 429, 429], JSON.stringify(results.map((r) => r.body)));
    for (const result of results.filter((r) => r.status === 429)) {
      assert.match(String(result.body.error), /^sql: the console is busy: .*SQL_QUEUE_MAX 2/);
      assert.equal(result.response.headers.get('retry-after'), '2');
      assert.ok(result.ms < 500, `a full queue answers at once, not in ${Math.round(result.ms)} ms`);
    }
    for (const result of results) assert.ok(result.ms < 2 * TIMEOUT_MS + MARGIN_MS * 2, `answered in ${Math.round(result.ms)} ms`);
    assert.ok(performance.now() - started < 2 * TIMEOUT_MS + 3 * MARGIN_MS);
    assert.ok(dashboard.length > 5, `${dashboard.length} dashboard requests`);
    // Never behind a console query: each answer comes well before a heavy query's deadline (how fast
    // it answers under this load is the console-load benchmark's to show, not a test's).
    assert.ok(Math.max(...dashboard) < TIMEOUT_MS, `dashboard answers took up to ${Math.round(Math.max(...dashboard))} ms`);
    await benign();
  });
});

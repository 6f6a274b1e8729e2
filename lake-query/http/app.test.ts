import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import { StatusBoard } from '../../core/status-board.ts';
import type { ScraperStatus } from '../../core/records/status.ts';
import { Lake } from '../lake.ts';
import { createLakeQueries } from '../queries.ts';
import { FixtureLake } from '../../tests/support/fixture-lake.ts';
import { createApp } from './app.ts';
import { NOT_BUILT_MESSAGE } from './static.ts';

const NOW = Date.parse('2026-03-02T06:00:00Z');

describe('lake-query HTTP API', () => {
  let fixture: FixtureLake;
  let lake: Lake;
  let dashboardDir: string;
  let app: ReturnType<typeof createApp>;
  const cache = new MemoryCache();
  const metrics = new Metrics();

  before(async () => {
    fixture = await FixtureLake.create();
    await fixture.writePrices([
      { symbol: 'BTC', ts: Date.parse('2026-03-02T05:00:10Z'), price: 100 },
      { symbol: 'BTC', ts: Date.parse('2026-03-02T05:00:50Z'), price: 105 },
      { symbol: 'ETH', ts: Date.parse('2026-03-02T05:01:00Z'), price: 3000, change24hPct: -1.5 },
    ]);
    await fixture.rows(`CALL ducklake_flush_inlined_data('lake')`);
    lake = await Lake.open(
      { ...fixture.location, synthetic: true },
      { queryTimeoutMs: 5_000, memoryLimit: '256MB', threads: 1, connections: 2 },
      silentLogger,
      metrics,
    );
    // A trailing slash, as server.ts passes it.
    dashboardDir = `${await mkdtemp(join(tmpdir(), 'cryptolake-dist-'))}/`;
    await writeFile(join(dashboardDir, 'index.html'), '<!doctype html><title>cryptolake</title>');
    await mkdir(join(dashboardDir, 'assets'));
    await writeFile(join(dashboardDir, 'assets', 'app.js'), 'console.log(1)');
    const status: ScraperStatus = {
      part: 'scraper',
      instance: 'a',
      updatedAt: NOW,
      synthetic: false,
      symbols: ['BTC'],
      polls: 3,
      lastPollAt: NOW,
      published: 0,
      deadLettered: 0,
      unserved: ['BTC'],
      recentFallbacks: [],
      providers: [
        {
          name: 'coingecko',
          kind: 'live',
          ok: false,
          requests: 3,
          failures: 3,
          failuresByKind: { network: 3 },
          recordsServed: 0,
          cacheHits: 0,
          fallbacks: 0,
          lastLatencyMs: null,
          lastSuccessAt: null,
          lastError: 'getaddrinfo ENOTFOUND api.coingecko.com',
          lastErrorAt: NOW,
        },
      ],
    };
    await new StatusBoard(cache).publish('scraper', status);
    const up = { health: async () => ({ ok: true, detail: 'fine' }) };
    app = createApp({
      queries: createLakeQueries(lake),
      checks: { lake, bus: up, store: up, cache },
      statusBoard: new StatusBoard(cache),
      metrics,
      dashboardDir,
      synthetic: true,
      log: silentLogger,
      now: () => NOW,
    });
  });

  after(async () => {
    await lake.close();
    await fixture.remove();
    await rm(dashboardDir, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const response = await app.request(path);
    const type = response.headers.get('content-type') ?? '';
    return { status: response.status, type, body: type.includes('json') ? await response.json() : await response.text() };
  };

  it('reports every part, each provider error and the synthetic flag on /api/health', async () => {
    const { status, body } = await get('/api/health');
    assert.equal(status, 200);
    assert.equal(body.synthetic, true);
    assert.equal(body.parts.lake.ok, true);
    assert.match(body.parts.lake.detail, /DuckDB v\d/);
    assert.equal(body.scraper.ok, false);
    assert.match(body.scraper.detail, /coingecko: getaddrinfo ENOTFOUND/);
    assert.equal(body.scraper.status.providers[0].lastError, 'getaddrinfo ENOTFOUND api.coingecko.com');
    assert.equal(body.processor.ok, false);
    assert.match(body.processor.detail, /not reporting/);
  });

  it('answers the latest price of each symbol on /api/latest', async () => {
    const { status, body } = await get('/api/latest');
    assert.equal(status, 200);
    assert.deepEqual(
      body.prices.map((p: { symbol: string; priceUsd: number }) => [p.symbol, p.priceUsd]),
      [
        ['BTC', 105],
        ['ETH', 3000],
      ],
    );
  });

  it('answers candles for the last six hours by default', async () => {
    const { status, body } = await get('/api/candles?symbol=BTC&interval=1m');
    assert.equal(status, 200);
    assert.equal(body.to - body.from, 6 * 3_600_000);
    assert.deepEqual(
      body.candles.map((c: { open: number; close: number; count: number }) => [c.open, c.close, c.count]),
      [[100, 105, 2]],
    );
  });

  it('accepts ISO times and epoch milliseconds for from and to', async () => {
    const iso = await get('/api/candles?symbol=ETH&interval=5m&from=2026-03-02T05:00:00Z&to=2026-03-02T06:00:00Z');
    const epoch = await get(
      `/api/candles?symbol=ETH&interval=5m&from=${Date.parse('2026-03-02T05:00:00Z')}&to=${Date.parse('2026-03-02T06:00:00Z')}`,
    );
    assert.equal(iso.status, 200);
    assert.deepEqual(iso.body, epoch.body);
    assert.equal(iso.body.candles.length, 1);
  });

  for (const [query, parameter] of [
    ['symbol=btc', 'symbol'],
    ["symbol=BTC'%20OR%201=1--", 'symbol'],
    ['interval=1m', 'symbol'],
    ['symbol=BTC&interval=7m', 'interval'],
    ['symbol=BTC&from=2026-03-02T06:00:00Z&to=2026-03-02T05:00:00Z', 'from'],
    ['symbol=BTC&from=yesterday', 'from'],
    ['symbol=BTC&to=2026-13-45T99:00:00Z', 'to'],
    ['symbol=BTC&interval=1m&from=0&to=1767225600000', 'from'],
  ] as const) {
    it(`rejects ${decodeURIComponent(query)} with 400 naming ${parameter}`, async () => {
      const { status, body } = await get(`/api/candles?${query}`);
      assert.equal(status, 400);
      assert.ok(body.error.startsWith(`${parameter}: `), body.error);
      assert.doesNotMatch(JSON.stringify(body), /at .*\.ts:\d+/);
    });
  }

  it('lists partitions with totals on /api/partitions', async () => {
    const { status, body } = await get('/api/partitions');
    assert.equal(status, 200);
    assert.deepEqual(
      body.partitions.map((p: { date: string; files: number; rows: number }) => [p.date, p.files, p.rows]),
      [['2026-03-02', 1, 3]],
    );
    assert.equal(body.totals.rows, 3);
    assert.ok(body.totals.bytes > 0);
  });

  it('exposes Prometheus metrics, counting the requests answered', async () => {
    const { status, body, type } = await get('/metrics');
    assert.equal(status, 200);
    assert.match(type, /text\/plain/);
    assert.match(body, /lake_query_http_requests_total\{route="\/api\/partitions",status="200"\} 1/);
    assert.match(body, /lake_query_duration_seconds_bucket/);
  });

  it('answers unknown API paths with a JSON 404', async () => {
    const { status, body } = await get('/api/nope');
    assert.equal(status, 404);
    assert.match(body.error, /no such endpoint/);
  });

  it('serves the built dashboard with content types and a short cache policy', async () => {
    const page = await app.request('/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /text\/html/);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    const script = await app.request('/assets/app.js');
    assert.match(script.headers.get('content-type')!, /text\/javascript/);
    assert.match(script.headers.get('cache-control')!, /max-age=300/);
    assert.equal((await app.request('/../../etc/passwd')).status, 404);
    assert.equal((await app.request('/%2e%2e/%2e%2e/etc/passwd')).status, 404);
  });

  it('answers 503 saying how to build the dashboard when it is not built', async () => {
    const bare = createApp({
      queries: createLakeQueries(lake),
      checks: {},
      statusBoard: new StatusBoard(cache),
      metrics: new Metrics(),
      dashboardDir: join(dashboardDir, 'missing'),
      synthetic: false,
      log: silentLogger,
    });
    const response = await bare.request('/');
    assert.equal(response.status, 503);
    assert.equal(await response.text(), NOT_BUILT_MESSAGE);
  });

  it('answers 504 with a clear message when a query times out', async () => {
    const quick = await Lake.open(
      fixture.location,
      { queryTimeoutMs: 100, memoryLimit: '256MB', threads: 1, connections: 1 },
      silentLogger,
      new Metrics(),
    );
    try {
      const timed = createApp({
        queries: {
          ...createLakeQueries(quick),
          latest: () => quick.query('the latest prices', 'SELECT count(*) FROM range(100000000000)') as never,
        },
        checks: {},
        statusBoard: new StatusBoard(cache),
        metrics: new Metrics(),
        dashboardDir,
        synthetic: false,
        log: silentLogger,
      });
      const response = await timed.request('/api/latest');
      assert.equal(response.status, 504);
      assert.deepEqual(await response.json(), { error: 'the latest prices took longer than 100 ms and was stopped' });
    } finally {
      await quick.close();
    }
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { StatusBoard } from '../../core/status-board.ts';
import { Lake } from '../lake.ts';
import { DATASETS } from '../../core/datasets/index.ts';
import { createLakeQueries } from '../queries.ts';
import { FixtureLake } from '../../tests/support/fixture-lake.ts';
import { createApp, type AppDeps } from './app.ts';

const NOW = Date.parse('2026-03-02T06:00:00Z');

describe('the exchange-trade routes on a lake without trades yet', () => {
  let fixture: FixtureLake;
  let lake: Lake;
  let deps: AppDeps;

  before(async () => {
    fixture = await FixtureLake.create();
    await fixture.writePrices([{ symbol: 'BTC', ts: NOW - 60_000, price: 100 }]);
    lake = await Lake.open(
      fixture.location,
      { queryTimeoutMs: 5_000, memoryLimit: '256MB', threads: 1, connections: 2 },
      silentLogger,
      new Metrics(),
    );
    deps = {
      queries: createLakeQueries(lake),
      lake,
      checks: {},
      statusBoard: new StatusBoard(new MemoryCache()),
      metrics: new Metrics(),
      dashboardDir: fixture.root,
      synthetic: false,
      log: silentLogger,
      now: () => NOW,
    };
  });

  after(async () => {
    await lake.close();
    await fixture.remove();
  });

  it('answers empty lists, not errors, while the tables are empty', async () => {
    const app = createApp(deps);
    const answers: [string, unknown][] = [
      ['/api/trades', { trades: [] }],
      ['/api/trades?venue=kraken&market=BTC%2FUSD&from=2026-03-01&to=2026-03-02', { trades: [] }],
      ['/api/trade-markets', { markets: [] }],
      ['/api/trade-candles?venue=binance&market=BTCUSDT&interval=1h', { candles: [] }],
      ['/api/gaps?venue=coinbase', { gaps: [] }],
    ];
    for (const [path, body] of answers) {
      const response = await app.request(path);
      assert.equal(response.status, 200, path);
      assert.deepEqual(await response.json(), body, path);
    }
  });

  it('holds every dataset as declared, empty ones with their typed columns', async () => {
    for (const dataset of DATASETS) {
      const columns = await lake.query(`the columns of ${dataset.name}`, `SELECT column_name, column_type FROM (DESCRIBE ${dataset.name})`);
      assert.deepEqual(
        columns.map((column) => [column.column_name, column.column_type]),
        dataset.columns.map(([name, type]) => [name, type]),
        dataset.name,
      );
    }
    const [row] = await lake.query('counting', 'SELECT (SELECT count(*) FROM trades)::INTEGER + (SELECT count(*) FROM gaps)::INTEGER AS n');
    assert.equal(row!.n, 0);
  });

  it('answers a bad parameter with 400 naming it, before looking at the lake', async () => {
    const app = createApp({ ...deps, lake: undefined });
    const cases: [string, RegExp][] = [
      ['/api/trades?limit=abc', /^limit: expected a whole number from 1 to 1000/],
      ['/api/trades?symbol=btc', /^symbol: /],
      [`/api/trades?market=${'X'.repeat(41)}`, /^market: expected at most 40 characters/],
      ['/api/trade-candles?venue=binance&market=BTCUSDT&interval=1h&from=1990-01-01', /^from: the range holds/],
      ['/api/gaps?venue=BINANCE', /^venue: expected one of binance, coinbase, kraken/],
      ['/api/gaps?to=tomorrow', /^to: /],
    ];
    for (const [path, error] of cases) {
      const response = await app.request(path);
      assert.equal(response.status, 400, path);
      assert.match(((await response.json()) as { error: string }).error, error, path);
    }
    const unavailable = await app.request('/api/trades');
    assert.equal(unavailable.status, 503);
  });

  it('reports the streams as not reporting while the stream reader is silent', async () => {
    const response = await createApp(deps).request('/api/streams');
    assert.deepEqual(await response.json(), {
      ok: false,
      detail: 'the stream reader is not reporting (no status in the shared cache)',
      venues: [],
      replicas: [],
      lake: { processors: 0, duplicatesDropped: {} },
    });
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../../core/adapters/memory/bus.ts';
import { toPriceRecord } from '../../core/records/price.ts';
import { FixtureLake } from '../../tests/support/fixture-lake.ts';
import { openLakeQueryApp, type LakeQueryApp } from '../../tests/support/lake-query-app.ts';
import { createApp, type AppDeps } from './app.ts';

const NOW = Date.parse('2026-03-02T06:00:00Z');
const TOKEN = 'correct-horse-battery-staple';

describe('lake-query API: indicators, SQL, live stream, token and CORS', () => {
  let fixture: FixtureLake;
  let opened: LakeQueryApp;
  let deps: AppDeps;
  const bus = new MemoryBus({ partitions: 2 });

  before(async () => {
    fixture = await FixtureLake.create();
    const prices = [];
    for (let i = 0; i < 30; i++) prices.push({ symbol: 'BTC', ts: NOW - (30 - i) * 3_600_000, price: 100 * 1.01 ** i, source: 'a' });
    // Two more providers in the latest minute; the newest equals the series, so the closes keep 1% steps.
    const last = 100 * 1.01 ** 29;
    prices.push(
      { symbol: 'BTC', ts: NOW - 30_000, price: last * 0.98, source: 'b' },
      { symbol: 'BTC', ts: NOW - 20_000, price: last, source: 'c' },
    );
    await fixture.writePrices(prices);
    opened = await openLakeQueryApp(fixture, { now: NOW, live: { bus, group: 'test-live' } });
    deps = opened.deps;
  });

  after(async () => {
    await opened.close();
    await bus.close();
    await fixture.remove();
  });

  it('computes moving averages, volatility, the 24h change and the spread between providers', async () => {
    const response = await createApp(deps).request('/api/indicators?symbol=BTC&interval=1h&window=5');
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.candles, 5);
    assert.ok(Math.abs(body.volatility) < 1e-9, 'constant 1% steps: no dispersion of log returns');
    assert.ok(body.sma > 120 && body.sma < 135);
    // Closes by the candles' rule: now the median of b (0.98p) and c (p) in the last minute, a day ago a's alone.
    assert.ok(Math.abs(body.change24hPct - (0.99 * 1.01 ** 23 - 1) * 100) < 1e-6, `24h change ${body.change24hPct}`);
    assert.deepEqual([body.basis, body.sources], ['composite', ['a', 'b', 'c']]);
    assert.deepEqual(
      body.spread.sources.map((s: { source: string }) => s.source),
      ['b', 'c'],
    );
    assert.ok(Math.abs(body.spread.spreadPct - (0.02 / 0.99) * 100) < 1e-9, '(max - min) / median of 0.98p and p');
    const bad = await createApp(deps).request('/api/indicators?symbol=BTC&window=1');
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /^window: /);
  });

  it('answers POST /api/sql with rows, and a forbidden query with 400 and the reason', async () => {
    const app = createApp(deps);
    const post = (body: string) => app.request('/api/sql', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const ok = await post(JSON.stringify({ sql: 'SELECT source, count(*)::INTEGER AS n FROM prices GROUP BY 1 ORDER BY 1' }));
    assert.equal(ok.status, 200);
    assert.deepEqual((await ok.json()).rows, [
      ['a', 30],
      ['b', 1],
      ['c', 1],
    ]);
    const refused = await post(JSON.stringify({ sql: "SELECT * FROM '/etc/passwd'" }));
    assert.equal(refused.status, 400);
    assert.match((await refused.json()).error, /^sql: table "\/etc\/passwd"/);
    const missing = await post('{}');
    assert.equal(missing.status, 400);
    assert.match((await missing.json()).error, /^sql: required/);
    assert.equal((await post('not json')).status, 400);
  });

  it('streams a price published on the bus as a Server-Sent Event', async () => {
    const response = await createApp(deps).request('/api/stream');
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const reader = response.body!.getReader();
    const record = toPriceRecord({ source: 'a', symbol: 'ETH', ts: NOW, price_usd: 3_210.5 }, NOW);
    await bus.publish('prices', [{ key: 'ETH', value: JSON.stringify(record) }]);
    let text = '';
    while (!text.includes('event: price')) text += new TextDecoder().decode((await reader.read()).value);
    while (!text.includes('3210.5')) text += new TextDecoder().decode((await reader.read()).value);
    assert.match(text, /event: price\n(id: a:ETH:\d+\n)?data: \{"id":"a:ETH:\d+","ts":\d+,"symbol":"ETH","source":"a","price_usd":3210.5/);
    await reader.cancel();
  });

  it('drops a stream client that falls more than its buffer behind', async () => {
    const response = await createApp({ ...deps, streamMaxBuffered: 2 }).request('/api/stream');
    const reader = response.body!.getReader();
    const records = Array.from({ length: 50 }, (_, i) => toPriceRecord({ source: 'a', symbol: 'SOL', ts: NOW + i, price_usd: 1 + i }, NOW));
    await bus.publish(
      'prices',
      records.map((r) => ({ key: 'SOL', value: JSON.stringify(r) })),
    );
    let text = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += new TextDecoder().decode(chunk.value);
    assert.match(text, /event: error\ndata: \{"error":"more than 2 events waiting/);
  });

  it('requires the token on every route when API_TOKEN is set, by bearer or by the cookie /?token= sets', async () => {
    const app = createApp({ ...deps, apiToken: TOKEN });
    assert.equal((await app.request('/api/latest')).status, 401);
    assert.equal((await app.request('/')).status, 401);
    assert.equal((await app.request('/api/latest', { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 401);
    assert.equal((await app.request('/api/latest', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    const login = await app.request(`/?token=${TOKEN}&symbol=ETH`);
    assert.equal(login.status, 302);
    assert.equal(login.headers.get('location'), '/?symbol=ETH');
    const cookie = login.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const withCookie = await app.request('/api/partitions', { headers: { cookie: cookie.split(';')[0]! } });
    assert.equal(withCookie.status, 200);
    assert.equal((await app.request('/?token=nope')).status, 401);
  });

  it('sends no CORS header unless the origin is listed', async () => {
    const closed = await createApp(deps).request('/api/latest', { headers: { origin: 'https://evil.example' } });
    assert.equal(closed.headers.get('access-control-allow-origin'), null);
    const app = createApp({ ...deps, corsOrigins: ['https://ops.example'] });
    const listed = await app.request('/api/latest', { headers: { origin: 'https://ops.example' } });
    assert.equal(listed.headers.get('access-control-allow-origin'), 'https://ops.example');
    const other = await app.request('/api/latest', { headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('serves an OpenAPI 3.1 document of every endpoint with typed parameters', async () => {
    const doc = await (await createApp(deps).request('/api/openapi.json')).json();
    assert.equal(doc.openapi, '3.1.0');
    const paths = ['/api/candles', '/api/indicators', '/api/providers', '/api/pipeline', '/api/partitions', '/api/sql', '/api/stream'];
    paths.push('/api/alerts', '/api/trades', '/api/trade-markets', '/api/trade-candles', '/api/gaps', '/api/streams');
    for (const path of paths) assert.ok(doc.paths[path], path);
    const venue = doc.paths['/api/trade-candles'].get.parameters.find((p: { name: string }) => p.name === 'venue');
    assert.deepEqual([venue.required, venue.schema.enum], [true, ['binance', 'coinbase', 'kraken']]);
    const interval = doc.paths['/api/candles'].get.parameters.find((p: { name: string }) => p.name === 'interval');
    assert.deepEqual(interval.schema.enum, ['1m', '5m', '15m', '1h', '4h', '1d']);
  });

  it('serves a repeated dashboard question from the cache', async () => {
    let calls = 0;
    const queries = { ...deps.queries, latest: async () => (calls++, []) };
    const app = createApp({ ...deps, queries, cacheTtlMs: 60_000 });
    await app.request('/api/latest');
    await app.request('/api/latest');
    assert.equal(calls, 1);
  });
});

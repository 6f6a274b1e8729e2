import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import { MemoryBus } from '../../core/adapters/memory/bus.ts';
import { StatusBoard } from '../../core/status-board.ts';
import { alerts, gaps, trades } from '../../core/datasets/index.ts';
import type { ProcessorStatus, ScraperStatus, StreamsStatus } from '../../core/records/status.ts';
import { LakeFileCheck } from '../file-check.ts';
import { LocalObjectStore } from '../../core/adapters/local-fs/object-store.ts';
import { FixtureLake } from '../../tests/support/fixture-lake.ts';
import { openLakeQueryApp, type LakeQueryApp } from '../../tests/support/lake-query-app.ts';
import { createApp } from './app.ts';

const NOW = Date.parse('2026-03-02T06:00:00Z');
const MINUTE = 60_000;

interface OpenApi {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: { name: string; required: boolean; schema: { enum?: string[]; type?: string } }[];
        responses: Record<string, { content?: Record<string, unknown> }>;
      }
    >
  >;
}

/** A request for every operation, with the parameters it needs; more than one where answers differ in shape. */
const REQUESTS: { method: 'GET' | 'POST'; path: string; body?: string; type?: string }[] = [
  { method: 'GET', path: '/api/health' },
  { method: 'GET', path: '/api/latest' },
  { method: 'GET', path: '/api/candles?symbol=BTC&interval=1m' },
  { method: 'GET', path: `/api/candles?symbol=BTC&interval=5m&from=${NOW - 3_600_000 + 1}&to=${NOW}` },
  { method: 'GET', path: '/api/candles?symbol=btc' },
  { method: 'GET', path: '/api/indicators?symbol=BTC&interval=1m&window=3' },
  { method: 'GET', path: '/api/indicators?symbol=BTC&window=1' },
  { method: 'GET', path: '/api/providers' },
  { method: 'GET', path: '/api/pipeline' },
  { method: 'GET', path: '/api/partitions' },
  { method: 'GET', path: '/api/dead-letters' },
  { method: 'GET', path: '/api/alerts?symbol=BTC' },
  { method: 'GET', path: '/api/alerts?limit=0' },
  { method: 'GET', path: '/api/trades?venue=binance&market=BTCUSDT' },
  { method: 'GET', path: '/api/trades?venue=nyse' },
  { method: 'GET', path: '/api/trade-markets' },
  { method: 'GET', path: `/api/trade-candles?venue=binance&market=BTCUSDT&interval=1m&from=${NOW - 3_600_000}&to=${NOW}` },
  { method: 'GET', path: '/api/gaps' },
  { method: 'GET', path: '/api/streams' },
  { method: 'GET', path: '/api/openapi.json' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/api/stream' },
  { method: 'POST', path: '/api/sql', body: JSON.stringify({ sql: 'SELECT symbol, price_usd, ts FROM prices ORDER BY ts LIMIT 2' }) },
  { method: 'POST', path: '/api/sql', body: JSON.stringify({ sql: "SELECT * FROM read_text('/etc/passwd')" }) },
  { method: 'POST', path: '/api/sql', body: JSON.stringify({ sql: 'SELECT 1', extra: 'x'.repeat(200_000) }) },
  { method: 'POST', path: '/api/sql', body: 'not json' },
  { method: 'POST', path: '/api/sql', body: JSON.stringify({ sql: 'SELECT 1' }), type: 'text/plain' },
];

describe('the OpenAPI document describes what the routes really answer', () => {
  let fixture: FixtureLake;
  let opened: LakeQueryApp;
  let app: ReturnType<typeof createApp>;
  const bus = new MemoryBus({ partitions: 1 });

  before(async () => {
    fixture = await FixtureLake.create();
    await fixture.writePrices(
      Array.from({ length: 60 }, (_, i) => ({
        symbol: 'BTC',
        ts: NOW - (60 - i) * MINUTE,
        price: 64_000 + i,
        change24hPct: 1.5,
        volume24hUsd: 1e9,
      })),
    );
    await fixture.writeDeadLetters([{ at: NOW - MINUTE, stage: 'scraper', source: 'coingecko', reason: 'price_usd: expected a number' }]);
    await fixture.write(alerts, [
      {
        id: 'r1:BTC:1',
        ts: NOW - MINUTE,
        rule: 'r1',
        type: 'price_cross',
        symbol: 'BTC',
        source: 'fixture',
        value: 64_059,
        threshold: 64_000,
        message: 'BTC crossed 64000',
        raised_at: NOW,
      },
    ]);
    await fixture.write(
      trades,
      Array.from({ length: 5 }, (_, i) => ({
        id: `binance:BTCUSDT:${100 + i}`,
        ts: NOW - 30 * MINUTE + i * 1_000,
        symbol: 'BTC',
        venue: 'binance',
        market: 'BTCUSDT',
        price: 64_000 + i,
        qty: 0.5,
        side: i % 2 ? 'sell' : 'buy',
        trade_id: 100 + i,
        via: i === 4 ? 'rest' : 'stream',
        ingested_at: NOW - 30 * MINUTE + i * 1_000 + 10,
      })),
    );
    await fixture.write(gaps, [
      {
        id: 'binance:BTCUSDT:105-109',
        venue: 'binance',
        market: 'BTCUSDT',
        symbol: 'BTC',
        first_trade_id: 105,
        last_trade_id: 109,
        missing: 5,
        from_ts: NOW - 20 * MINUTE,
        to_ts: NOW - 19 * MINUTE,
        cause: 'reconnect',
        reason: 'history does not go back that far',
        detected_at: NOW - 18 * MINUTE,
      },
    ]);
    const cache = new MemoryCache();
    const board = new StatusBoard(cache, 600);
    await board.publish('scraper', scraperStatus());
    await board.publish('processor', processorStatus());
    await board.publish('streams', streamsStatus());
    opened = await openLakeQueryApp(fixture, { now: NOW, live: { bus, group: 'openapi-live' }, statusBoard: board });
    const { lake } = opened;
    const up = { health: async () => ({ ok: true, detail: 'fine' }) };
    app = createApp({
      ...opened.deps,
      files: lake.files,
      checks: { lake, files: new LakeFileCheck(lake, new LocalObjectStore(fixture.root)), bus: up, store: up, cache },
    });
  });

  after(async () => {
    await opened.close();
    await bus.close();
    await fixture.remove();
  });

  it('validates every answer of every route against /api/openapi.json, errors included', async () => {
    const document = (await (await app.request('/api/openapi.json')).json()) as OpenApi;
    assert.equal(document.openapi, '3.1.0');
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ ...document, $id: 'openapi.json' });
    const answered = new Set<string>();
    for (const request of REQUESTS) {
      const response = await app.request(request.path, {
        method: request.method,
        ...(request.body ? { body: request.body, headers: { 'content-type': request.type ?? 'application/json' } } : {}),
      });
      const path = request.path.split('?')[0]!;
      const operation = document.paths[path]?.[request.method.toLowerCase()];
      assert.ok(operation, `${request.method} ${path} is in the document`);
      const status = String(response.status);
      const declared = operation.responses[status];
      assert.ok(declared, `${request.method} ${request.path} answered ${status}, which the document does not declare`);
      const type = (response.headers.get('content-type') ?? '').split(';')[0]!;
      assert.ok(declared.content?.[type], `${request.method} ${request.path} answered ${type}, not a declared type of ${status}`);
      if (type === 'text/event-stream') {
        const reader = response.body!.getReader();
        assert.match(new TextDecoder().decode((await reader.read()).value), /^event: hello\n/);
        await reader.cancel();
      } else if (type === 'application/json') {
        const pointer = ['paths', path, request.method.toLowerCase(), 'responses', status, 'content', type, 'schema']
          .map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1'))
          .join('/');
        const validate = ajv.getSchema(`openapi.json#/${pointer}`)!;
        const body: unknown = await response.json();
        assert.ok(
          validate(body),
          `${request.method} ${request.path} (${status}): ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`,
        );
      } else {
        await response.text();
      }
      answered.add(`${request.method} ${path} ${status}`);
    }
    // Every operation of the document was asked, and answered 200 at least once.
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations))
        assert.ok(answered.has(`${method.toUpperCase()} ${path} 200`), `${method} ${path} answered 200`);
    }
    for (const status of ['400', '413', '415'])
      assert.ok(
        [...answered].some((entry) => entry.endsWith(` ${status}`)),
        `an answer ${status} was checked`,
      );
  });

  it('describes every route the app serves, and no other', async () => {
    const document = (await (await app.request('/api/openapi.json')).json()) as OpenApi;
    const documented = Object.entries(document.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    const served = [
      ...new Set(
        app.routes.filter((route) => route.method !== 'ALL' && !/[*:]/.test(route.path)).map((route) => `${route.method} ${route.path}`),
      ),
    ].sort();
    assert.deepEqual(served, documented);
  });

  it('takes parameter types and choices from the schemas that validate them', async () => {
    const document = (await (await app.request('/api/openapi.json')).json()) as OpenApi;
    const parameter = (path: string, name: string) => document.paths[path]!.get!.parameters!.find((p) => p.name === name)!;
    assert.deepEqual(parameter('/api/candles', 'interval').schema.enum, ['1m', '5m', '15m', '1h', '4h', '1d']);
    assert.equal(parameter('/api/candles', 'symbol').required, true);
    assert.deepEqual(
      [parameter('/api/trade-candles', 'venue').required, parameter('/api/trade-candles', 'venue').schema.enum],
      [true, ['binance', 'coinbase', 'kraken']],
    );
    assert.equal(parameter('/api/alerts', 'limit').schema.type, 'integer');
  });
});

function scraperStatus(): ScraperStatus {
  return {
    part: 'scraper',
    instance: 'test',
    updatedAt: NOW,
    synthetic: false,
    symbols: ['BTC'],
    polls: 3,
    lastPollAt: NOW,
    published: 3,
    deadLettered: 0,
    unserved: [],
    recentFallbacks: [{ at: NOW, symbol: 'BTC', from: 'coingecko', to: 'binance', reason: 'http_429' }],
    providers: [
      {
        name: 'coingecko',
        kind: 'live',
        ok: true,
        requests: 3,
        failures: 1,
        failuresByKind: { http_429: 1 },
        recordsServed: 2,
        cacheHits: 0,
        fallbacks: 1,
        lastLatencyMs: 120,
        lastSuccessAt: NOW,
        lastError: 'HTTP 429',
        lastErrorAt: NOW - MINUTE,
      },
    ],
  };
}

function processorStatus(): ProcessorStatus {
  return {
    part: 'processor',
    instance: 'test',
    updatedAt: NOW,
    recordsWritten: 60,
    duplicatesDropped: 0,
    duplicatesDroppedByDataset: { prices: 0 },
    deadLettered: 1,
    commits: 3,
    bufferedRecords: 0,
    bufferedBytes: 0,
    lastFlushAt: NOW,
    lastFlushMs: 12,
    lastError: null,
    lag: { 'prices/0': 0 },
  };
}

function streamsStatus(): StreamsStatus {
  return {
    part: 'streams',
    instance: 'test',
    updatedAt: NOW,
    venues: [
      {
        venue: 'binance',
        markets: ['BTCUSDT'],
        connected: true,
        connections: 1,
        tradesCoveredByReplicas: 0,
        tradesReceived: 5,
        tickersReceived: 0,
        duplicatesDropped: 0,
        malformedFrames: 0,
        tradesMissed: 5,
        tradesRefilled: 0,
        gapsRecorded: 1,
        buffered: 0,
        paused: false,
        lastTradeAt: NOW,
        lastError: null,
        lastErrorAt: null,
      },
    ],
  };
}

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { MemoryBus } from '../../core/adapters/memory/bus.ts';
import { toPriceRecord } from '../../core/records/price.ts';
import { waitFor } from '../../core/testing/wait.ts';
import { LiveFeed } from '../live-feed.ts';
import { allowedHostsOf, loadLakeQueryConfig } from '../config.ts';
import { FixtureLake } from '../../tests/support/fixture-lake.ts';
import { openLakeQueryApp, type LakeQueryApp } from '../../tests/support/lake-query-app.ts';
import { createApp, type AppDeps } from './app.ts';
import { MAX_BODY_BYTES } from './hygiene.ts';

const NOW = Date.parse('2026-03-02T06:00:00Z');
const TOKEN = 'correct-horse-battery-staple';
const QUERY = JSON.stringify({ sql: 'SELECT count(*)::INTEGER AS n FROM prices' });

/** A running server on a free loopback port, for what only a socket shows. */
async function listen(app: ReturnType<typeof createApp>): Promise<{ port: number; close(): Promise<void> }> {
  let server!: ReturnType<typeof serve>;
  const address = await new Promise<AddressInfo>((resolve) => {
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, resolve);
  });
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

/** A raw connection: writes exactly the bytes given (any Host, any path) and collects what comes back. */
async function rawConnection(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => text, closed };
}

/** The status code of the first response on a raw connection, once its head has arrived. */
async function statusOf(received: () => string, what: string): Promise<number> {
  const head = await waitFor(() => /^HTTP\/1\.1 (\d{3})/.exec(received()), 10_000, what);
  return Number(head[1]);
}

describe('lake-query HTTP hygiene: body limit, JSON only, Host allow-list, cross-site writes, redirects, methods, slow streams', () => {
  let fixture: FixtureLake;
  let opened: LakeQueryApp;
  let deps: AppDeps;
  const bus = new MemoryBus({ partitions: 1 });

  before(async () => {
    fixture = await FixtureLake.create();
    await fixture.writePrices([{ symbol: 'BTC', ts: NOW - 60_000, price: 64_000 }]);
    opened = await openLakeQueryApp(fixture, { now: NOW });
    deps = opened.deps;
  });

  after(async () => {
    await opened.close();
    await bus.close();
    await fixture.remove();
  });

  const post = (app: ReturnType<typeof createApp>, body: string, headers: Record<string, string>) =>
    app.request('/api/sql', { method: 'POST', body, headers });

  it('answers a body over 128 KiB with 413 before reading it, by Content-Length or while a chunked body streams in', async () => {
    const server = await listen(createApp(deps));
    try {
      // Announces 400 MB and sends 1 KB: the answer comes without the rest ever being sent.
      const announced = await rawConnection(server.port);
      announced.socket.write(
        `POST /api/sql HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/json\r\nContent-Length: 400000000\r\n\r\n{"sql": "${'x'.repeat(1_000)}`,
      );
      assert.equal(await statusOf(announced.received, 'the answer to a 400 MB announcement'), 413);
      assert.match(announced.received(), /"error":"body: larger than 131072 bytes"/);
      announced.socket.destroy();

      // Chunked, no length: cut as soon as the bytes read pass the cap.
      const chunked = await rawConnection(server.port);
      chunked.socket.write(
        `POST /api/sql HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      const chunk = 'y'.repeat(16 * 1024);
      for (let sent = 0; sent <= MAX_BODY_BYTES && !chunked.received(); sent += chunk.length) {
        chunked.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      }
      assert.equal(await statusOf(chunked.received, 'the answer to a chunked body past the cap'), 413);
      chunked.socket.destroy();
    } finally {
      await server.close();
    }
    // A body under the cap is read and answered.
    const ok = await post(createApp(deps), QUERY, { 'content-type': 'application/json' });
    assert.equal(ok.status, 200);
    assert.deepEqual((await ok.json()).rows, [[1]]);
  });

  it('refuses a POST whose Content-Type is not application/json with 415, before reading the body', async () => {
    const app = createApp(deps);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const response = await post(app, QUERY, { 'content-type': type });
      assert.equal(response.status, 415, type);
      assert.match((await response.json()).error, /^content-type: expected application\/json/);
    }
    const none = await app.request('/api/sql', { method: 'POST', body: new TextEncoder().encode(QUERY) });
    assert.equal(none.status, 415);
    assert.equal((await post(app, QUERY, { 'content-type': 'application/json; charset=utf-8' })).status, 200);
  });

  it('refuses a browser-style cross-origin POST, simple or not, and answers the same origin and listed origins', async () => {
    const app = createApp(deps);
    // What a page on another site sends with fetch(url, {method: 'POST', mode: 'no-cors', body}).
    const simple = await post(app, QUERY, {
      'content-type': 'text/plain;charset=UTF-8',
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
      'sec-fetch-mode': 'no-cors',
    });
    assert.equal(simple.status, 403);
    assert.match((await simple.json()).error, /^origin: a POST from another site \(https:\/\/evil\.example\) is refused/);
    const json = await post(app, QUERY, { 'content-type': 'application/json', origin: 'https://evil.example' });
    assert.equal(json.status, 403);
    const fetchMetadataOnly = await post(app, QUERY, { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' });
    assert.equal(fetchMetadataOnly.status, 403);
    const sandboxed = await post(app, QUERY, { 'content-type': 'application/json', origin: 'null' });
    assert.equal(sandboxed.status, 403);
    // The page's own console: same origin.
    const own = await post(app, QUERY, { 'content-type': 'application/json', origin: 'http://localhost', 'sec-fetch-site': 'same-origin' });
    assert.equal(own.status, 200);
    const listed = createApp({ ...deps, corsOrigins: ['https://ops.example'] });
    const fromOps = await post(listed, QUERY, {
      'content-type': 'application/json',
      origin: 'https://ops.example',
      'sec-fetch-site': 'cross-site',
    });
    assert.equal(fromOps.status, 200);
    assert.equal(fromOps.headers.get('access-control-allow-origin'), 'https://ops.example');
  });

  it('answers only to the loopback names by default, so a DNS-rebinding page gets 403', async () => {
    const app = createApp(deps);
    assert.equal((await app.request('http://evil.example:8080/api/latest')).status, 403);
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', 'LOCALHOST']) {
      assert.equal((await app.request(`http://${host}/api/health`)).status, 200, host);
    }
    const listed = createApp({ ...deps, allowedHosts: ['localhost', 'lake.example.com'] });
    assert.equal((await listed.request('http://lake.example.com/api/health')).status, 200);
    assert.equal((await createApp({ ...deps, allowedHosts: 'any' }).request('http://evil.example/api/health')).status, 200);

    // Over a socket, with the Host header a rebinding browser sends.
    const server = await listen(app);
    try {
      const rebound = await rawConnection(server.port);
      rebound.socket.write(`GET /api/latest HTTP/1.1\r\nHost: attacker.example:${server.port}\r\nConnection: close\r\n\r\n`);
      assert.equal(await statusOf(rebound.received, 'the answer to a rebound Host'), 403);
      await rebound.closed;
      assert.match(rebound.received(), /"error":"host: \\"attacker\.example:\d+\\" is not a name of this server/);
      assert.doesNotMatch(rebound.received(), /64000/);
    } finally {
      await server.close();
    }
  });

  it('refuses to bind beyond loopback without API_TOKEN, in one line naming HOST', () => {
    assert.throws(
      () => loadLakeQueryConfig({ HOST: '0.0.0.0' }),
      (error: Error) =>
        /^Invalid configuration: HOST="0\.0\.0\.0": binding beyond loopback needs API_TOKEN/.test(error.message) &&
        !error.message.includes('\n'),
    );
    assert.throws(() => loadLakeQueryConfig({ HOST: '192.168.1.20' }), /HOST="192\.168\.1\.20": binding beyond loopback needs API_TOKEN/);
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) assert.equal(loadLakeQueryConfig({ HOST: host }).host, host);
    const exposed = loadLakeQueryConfig({ HOST: '0.0.0.0', API_TOKEN: TOKEN });
    assert.equal(allowedHostsOf(exposed), 'any');
    assert.deepEqual(allowedHostsOf(loadLakeQueryConfig({ HOST: '0.0.0.0', API_TOKEN: TOKEN, ALLOWED_HOSTS: 'lake.example.com' })), [
      'lake.example.com',
    ]);
    // A container published on loopback only: no token, and the Host allow-list stays on the loopback names.
    const compose = loadLakeQueryConfig({ HOST: '0.0.0.0', EXPOSE_WITHOUT_TOKEN: 'true' });
    assert.deepEqual(allowedHostsOf(compose), ['localhost', '127.0.0.1', '::1']);
  });

  it('redirects a token login only within the site', async () => {
    const app = createApp({ ...deps, apiToken: TOKEN });
    const server = await listen(app);
    try {
      for (const [target, location] of [
        [`//other.site/x?token=${TOKEN}&a=1`, '/other.site/x?a=1'],
        [`///other.site/x?token=${TOKEN}`, '/other.site/x'],
        [`/?token=${TOKEN}&symbol=ETH`, '/?symbol=ETH'],
      ] as const) {
        const login = await rawConnection(server.port);
        login.socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`);
        assert.equal(await statusOf(login.received, `the answer to ${target}`), 302, target);
        await login.closed;
        assert.equal(/\r\nlocation: ([^\r]*)\r\n/i.exec(login.received())?.[1], location, target);
      }
    } finally {
      await server.close();
    }
  });

  it('answers a method a path does not serve with 405 and Allow, and OPTIONS with 204 and Allow', async () => {
    const app = createApp(deps);
    const cases = [
      ['DELETE', '/api/latest', 'GET, HEAD'],
      ['POST', '/api/candles', 'GET, HEAD'],
      ['GET', '/api/sql', 'POST'],
      ['PUT', '/api/sql', 'POST'],
      ['POST', '/', 'GET, HEAD'],
      ['PATCH', '/metrics', 'GET, HEAD'],
    ] as const;
    for (const [method, path, allow] of cases) {
      const response = await app.request(path, {
        method,
        headers: { 'content-type': 'application/json' },
        body: method === 'GET' ? null : '{}',
      });
      assert.equal(response.status, 405, `${method} ${path}`);
      assert.equal(response.headers.get('allow'), allow, `${method} ${path}`);
      assert.match((await response.json()).error, new RegExp(`^method: ${method} is not allowed on ${path.replace('/', '\\/')}`));
    }
    const options = await app.request('/api/sql', { method: 'OPTIONS' });
    assert.equal(options.status, 204);
    assert.equal(options.headers.get('allow'), 'POST');
    assert.equal((await app.request('/api/nope')).status, 404);
    assert.equal(
      (await app.request('/api/nope', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status,
      404,
    );
    assert.equal((await app.request('/api/latest', { method: 'HEAD' })).status, 200);
  });

  for (const feed of [
    {
      name: 'a fast feed: its queue overflows',
      limits: { streamMaxBuffered: 500, streamWriteTimeoutMs: 60_000 },
      reason: 'queue',
    },
    {
      name: 'a slow feed: its queue never fills, one write stalls',
      limits: { streamMaxBuffered: 10_000_000, streamWriteTimeoutMs: 300 },
      reason: 'stalled',
    },
  ] as const) {
    it(`drops a stream client that stops reading at ${feed.name}, closes its connection and counts the drop`, async () => {
      const streamMetrics = new Metrics();
      const live = new LiveFeed(bus, 'prices', `hygiene-live-${feed.reason}`, silentLogger, streamMetrics);
      live.start();
      await live.ready();
      const server = await listen(createApp({ ...deps, ...feed.limits, live, metrics: streamMetrics }));
      try {
        const reader = await rawConnection(server.port);
        reader.socket.write(`GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
        await waitFor(() => reader.received().includes('event: hello'), 10_000, 'the hello event');
        // A reader that keeps its connection open and reads nothing more.
        reader.socket.pause();
        let sent = 0;
        while (live.status().dropped === 0 && sent < 500_000) {
          const batch = Array.from({ length: 200 }, (_, i) =>
            toPriceRecord({ source: 'a', symbol: 'SOL', ts: NOW + sent + i, price_usd: 100 + i }, NOW),
          );
          await bus.publish(
            'prices',
            batch.map((record) => ({ key: 'SOL', value: JSON.stringify(record) })),
          );
          sent += batch.length;
          await new Promise((resolve) => setImmediate(resolve));
        }
        await waitFor(() => live.status().dropped === 1 && live.status().clients === 0, 10_000, 'the slow client dropped');
        assert.match(await streamMetrics.text(), new RegExp(`lake_query_live_clients_dropped_total\\{reason="${feed.reason}"\\} 1`));
        // The server closed the connection: once the reader reads again, it reaches the end.
        reader.socket.resume();
        await reader.closed;
      } finally {
        await live.close();
        await server.close();
      }
    });
  }
});

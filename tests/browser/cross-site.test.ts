import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { recordingLogger } from '../../core/testing/log.ts';
import { openAdapters, type Adapters } from '../../core/adapters/select.ts';
import { Metrics } from '../../core/metrics.ts';
import { waitFor } from '../../core/testing/wait.ts';
import { startLakeQuery, type LakeQueryServer } from '../../lake-query/server.ts';
import { buildDashboard } from '../../dashboard/build.ts';
import { FixtureLake } from '../support/fixture-lake.ts';

/** Both names resolve to this machine in the browser, as a rebinding attacker's would. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP evil.test 127.0.0.1, MAP rebound.test 127.0.0.1',
];

describe('a real browser on another site cannot use lake-query', () => {
  let fixture: FixtureLake;
  let adapters: Adapters;
  let server: LakeQueryServer;
  let attacker: Server;
  let attackerPort: number;
  let browser: Browser;
  const { log, lines } = recordingLogger();

  before(async () => {
    await buildDashboard();
    fixture = await FixtureLake.create();
    await fixture.writePrices([{ symbol: 'BTC', ts: Date.now() - 60_000, price: 64_123.5 }]);
    const env = { LAKE_DIR: fixture.root, PROVIDERS: 'synthetic', PORT: '0' };
    adapters = await openAdapters(env, log);
    server = await startLakeQuery(adapters, env, log, new Metrics());
    // The attacker's page: it posts to the console, as a page the operator visits could.
    attacker = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<!doctype html><title>evil</title><p>nothing to see</p>');
    });
    attackerPort = await new Promise<number>((resolve) =>
      attacker.listen(0, '127.0.0.1', () => resolve((attacker.address() as AddressInfo).port)),
    );
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => attacker?.close(resolve));
    await server?.close();
    await adapters?.close();
    await fixture?.remove();
  });

  const consoleRuns = () => lines.filter((line) => line.msg === 'Answered a SQL console query').length;

  it('refuses a cross-origin POST to the SQL console, the simple no-cors kind and the JSON kind', async () => {
    const page = await browser.newPage();
    const statuses: number[] = [];
    page.on('response', (response) => {
      if (response.url().endsWith('/api/sql')) statuses.push(response.status());
    });
    await page.goto(`http://evil.test:${attackerPort}/`);
    const target = `${server.url}/api/sql`;
    const before = consoleRuns();
    const outcome = await page.evaluate(async (url) => {
      const body = JSON.stringify({ sql: 'SELECT count(*) FROM prices' });
      // A "simple" request: no preflight, the browser sends it and hides the answer.
      await fetch(url, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body });
      // A JSON request: the browser asks first (OPTIONS); CORS is closed, so it must not send the POST.
      try {
        await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        return 'sent and read';
      } catch {
        return 'blocked';
      }
    }, target);
    assert.equal(outcome, 'blocked');
    await waitFor(() => statuses.length >= 1, 10_000, 'the answer to the no-cors POST');
    assert.deepEqual(statuses, [403], 'the simple POST reached the server and was refused; the JSON one never left the browser');
    assert.equal(consoleRuns(), before, 'no query ran');
    // The console itself works for the page it belongs to.
    const own = await browser.newPage();
    await own.goto(server.url);
    const answer = await own.evaluate(async () => {
      const response = await fetch('/api/sql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sql: 'SELECT count(*)::INTEGER AS n FROM prices' }),
      });
      return { status: response.status, body: (await response.json()) as { rows: unknown[][] } };
    });
    assert.deepEqual(answer, { status: 200, body: { ...answer.body, rows: [[1]] } });
    assert.equal(consoleRuns(), before + 1);
    await page.close();
    await own.close();
  });

  it('refuses a page reached under another host name that resolves to this machine (DNS rebinding)', async () => {
    const page = await browser.newPage();
    const port = new URL(server.url).port;
    const response = await page.goto(`http://rebound.test:${port}/api/latest`);
    assert.equal(response?.status(), 403);
    const text = await page.innerText('body');
    assert.match(text, /host: .*rebound\.test.* is not a name of this server/);
    assert.doesNotMatch(text, /64123/);
    const root = await page.goto(`http://rebound.test:${port}/`);
    assert.equal(root?.status(), 403);
    // The same server under its own name answers.
    const own = await page.goto(`http://localhost:${port}/api/latest`);
    assert.equal(own?.status(), 200);
    assert.match(await page.innerText('body'), /64123\.5/);
    await page.close();
  });
});

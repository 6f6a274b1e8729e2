import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openAdapters, type Adapters } from '../../core/adapters/select.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { startLakeQuery, type LakeQueryServer } from '../../lake-query/server.ts';
import { buildDashboard } from '../../dashboard/build.ts';
import { FixtureLake } from '../support/fixture-lake.ts';

const SHOTS = 'test-artifacts/screenshots';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('the API reference page in a browser', () => {
  let fixture: FixtureLake;
  let adapters: Adapters;
  let server: LakeQueryServer;
  let browser: Browser;
  let page: Page;
  /** Every URL the page asked for. */
  const requested: string[] = [];

  before(async () => {
    await buildDashboard();
    await mkdir(SHOTS, { recursive: true });
    fixture = await FixtureLake.create();
    await fixture.writePrices([
      { symbol: 'BTC', ts: Date.now() - 60_000, price: 64_123.5 },
      { symbol: 'ETH', ts: Date.now() - 60_000, price: 3_210.25 },
    ]);
    const env = { LAKE_DIR: fixture.root, PROVIDERS: 'synthetic', PORT: '0' };
    adapters = await openAdapters(env, silentLogger);
    server = await startLakeQuery(adapters, env, silentLogger, new Metrics());
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    page.on('request', (request) => requested.push(request.url()));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await adapters?.close();
    await fixture?.remove();
  });

  it('opens from the dashboard and lists every operation of /api/openapi.json with its parameters and answers', async () => {
    await page.goto(server.url);
    await page.locator('#api-reference').click();
    await page.waitForURL(/\/reference\.html$/);
    await page.locator('section.operation').first().waitFor();
    const document = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const expected = Object.entries(document.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`))
      .sort();
    const shown = await page
      .locator('section.operation')
      .evaluateAll((sections) => sections.map((section) => `${section.getAttribute('data-method')} ${section.getAttribute('data-path')}`));
    assert.deepEqual(shown.sort(), expected);
    const candles = page.locator('section.operation[data-path="/api/candles"]');
    assert.match(await candles.locator('table.params').innerText(), /interval[\s\S]*one of 1m, 5m, 15m, 1h, 4h, 1d \(default 1m\)/);
    assert.match(await candles.innerText(), /503[\s\S]*data file/);
    assert.equal(await page.locator('#reference-toc li').count(), expected.length);
    await page.screenshot({ path: `${SHOTS}/api-reference.png`, fullPage: false });
  });

  it('tries a GET and a POST against this server from the page', async () => {
    const latest = page.locator('section.operation[data-path="/api/latest"]');
    await latest.locator('button[type=submit]').click();
    await latest.locator('pre.try-output').filter({ hasText: '"priceUsd": 64123.5' }).waitFor();
    assert.match(await latest.locator('pre.try-output').innerText(), /^HTTP 200\n/);

    const sql = page.locator('section.operation[data-path="/api/sql"]');
    await sql.locator('textarea').fill('SELECT symbol FROM prices ORDER BY symbol');
    await sql.locator('button[type=submit]').click();
    await sql.locator('pre.try-output').filter({ hasText: '"rowCount": 2' }).waitFor();
    assert.match(await sql.locator('pre.try-output').innerText(), /^HTTP 200\n[\s\S]*"BTC"[\s\S]*"ETH"/);

    const candles = page.locator('section.operation[data-path="/api/candles"]');
    await candles.locator('input[name=symbol]').fill('btc');
    await candles.locator('button[type=submit]').click();
    await candles.locator('pre.try-output').filter({ hasText: 'HTTP 400' }).waitFor();
    assert.match(await candles.locator('pre.try-output').innerText(), /"error": "symbol: expected an upper-case ticker/);
    await page.screenshot({ path: `${SHOTS}/api-reference-try.png`, fullPage: false });
  });

  it('loads nothing from another site', () => {
    assert.ok(requested.length > 0);
    const foreign = requested.filter((url) => !url.startsWith(server.url) && !url.startsWith('data:'));
    assert.deepEqual(foreign, []);
  });
});

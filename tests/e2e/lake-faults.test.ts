import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { recordingLogger } from '../../core/testing/log.ts';
import { openAdapters, type Adapters } from '../../core/adapters/select.ts';
import { Metrics } from '../../core/metrics.ts';
import { toPriceRecord } from '../../core/records/price.ts';
import { waitFor } from '../../core/testing/wait.ts';
import { startProcessor } from '../../processor/start.ts';
import { startLakeQuery, type LakeQueryServer } from '../../lake-query/server.ts';
import { FixtureLake } from '../support/fixture-lake.ts';

const DAY_MS = 86_400_000;
/** Three whole UTC days ending today: the latest prices look back over all of them. */
const FIRST_DAY = Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS;

interface Answer {
  status: number;
  text: string;
  body: Record<string, unknown> & { error?: string };
}

async function get(server: LakeQueryServer, path: string): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`);
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as Answer['body'] };
}

/** Raw candles of one day (a `from` off the minute reads the prices, not the rollups). */
const candlesOf = (day: number) =>
  `/api/candles?symbol=BTC&interval=1h&from=${FIRST_DAY + day * DAY_MS + 1}&to=${FIRST_DAY + (day + 1) * DAY_MS}`;

describe('a lake that degrades per file: a truncated or deleted data file', () => {
  let fixture: FixtureLake;
  let adapters: Adapters;
  let server: LakeQueryServer;
  const recorded = recordingLogger();
  /** The prices file of each day, relative to the data path. */
  const files: string[] = [];

  before(async () => {
    fixture = await FixtureLake.create();
    for (let day = 0; day < 3; day++) {
      const start = FIRST_DAY + day * DAY_MS;
      await fixture.writePrices(
        Array.from({ length: 144 }, (_, i) => ({ symbol: i % 2 ? 'ETH' : 'BTC', ts: start + i * 600_000, price: 100 + day + i / 1000 })),
      );
    }
    // Days of a running lake sit in Parquet files: maintenance writes inlined rows out.
    await fixture.rows(`CALL ducklake_flush_inlined_data('lake')`);
    const rows = await fixture.rows(
      `SELECT f.path FROM __ducklake_metadata_lake.main.ducklake_data_file f JOIN __ducklake_metadata_lake.main.ducklake_table t USING (table_id)
        WHERE t.table_name = 'prices' AND f.end_snapshot IS NULL AND t.end_snapshot IS NULL ORDER BY f.path`,
    );
    files.push(...rows.map((row) => `main/prices/${String(row.path)}`));
    assert.equal(files.length, 3, 'one prices file per day');
    const env = { LAKE_DIR: fixture.root, PROVIDERS: 'synthetic', PORT: '0', CACHE_TTL_MS: '0', FILE_CHECK_INTERVAL_MS: '1' };
    adapters = await openAdapters(env, recorded.log);
    server = await startLakeQuery(adapters, env, recorded.log, new Metrics());
  });

  after(async () => {
    await server?.close();
    await adapters?.close();
    await fixture?.remove();
  });

  /** Every answer of the routes; none but /api/health (which says where the lake is) shows the lake's absolute path. */
  const routes = ['/api/health', '/api/latest', '/api/partitions', '/api/pipeline', candlesOf(0), candlesOf(1), candlesOf(2)];
  async function answers(): Promise<Map<string, Answer>> {
    const all = new Map<string, Answer>();
    for (const path of routes) {
      const answer = await get(server, path);
      const shown = path === '/api/health' ? JSON.stringify((answer.body.parts as Record<string, unknown>).files) : answer.text;
      assert.ok(!shown.includes(fixture.root), `${path} shows the lake's absolute path: ${shown.slice(0, 300)}`);
      all.set(path, answer);
    }
    return all;
  }

  it('answers every route while the files are whole', async () => {
    const all = await answers();
    for (const [path, answer] of all) assert.equal(answer.status, 200, `${path}: ${answer.text.slice(0, 200)}`);
    assert.equal((all.get('/api/health')!.body.parts as Record<string, { ok: boolean }>).files!.ok, true);
  });

  for (const fault of [
    {
      name: 'a truncated prices file',
      day: 1,
      damage: (path: string) => truncate(path, 100),
      problem: /truncated: 100 bytes, the catalog recorded \d+|not a readable Parquet file/,
    },
    {
      name: 'a deleted prices file',
      day: 2,
      damage: (path: string) => rm(path),
      problem: /missing/,
    },
  ]) {
    it(`${fault.name}: the routes that need it answer 503 naming it, the others answer, health and the pipeline report it until it is back`, async () => {
      const file = files[fault.day]!;
      const absolute = join(fixture.root, file);
      const original = await readFile(absolute);
      await fault.damage(absolute);
      try {
        // The file check finds it before any query trips on it.
        const health = await get(server, '/api/health');
        const parts = health.body.parts as Record<string, { ok: boolean; detail: string }>;
        assert.equal(health.body.ok, false);
        assert.equal(parts.files!.ok, false);
        assert.ok(parts.files!.detail.includes(file), parts.files!.detail);
        assert.match(parts.files!.detail, fault.problem);
        assert.equal(parts.lake!.ok, true, 'the catalog itself is fine');

        const all = await answers();
        // Candles from the first millisecond of the day read that minute's raw prices; the latest
        // prices come from the daily rollup, which the damaged prices file is not part of.
        for (const path of [candlesOf(fault.day)]) {
          const answer = all.get(path)!;
          assert.equal(answer.status, 503, `${path}: ${answer.text.slice(0, 300)}`);
          assert.ok(answer.body.error!.includes(`needs the data file ${file}, which cannot be read`), answer.body.error);
        }
        for (const path of [
          '/api/latest',
          '/api/partitions',
          '/api/pipeline',
          ...[0, 1, 2].filter((d) => d !== fault.day).map(candlesOf),
        ]) {
          assert.equal(all.get(path)!.status, 200, `${path} keeps answering: ${all.get(path)!.text.slice(0, 300)}`);
        }
        const other = all.get(candlesOf(fault.day === 1 ? 0 : 1))!.body as { candles: unknown[] };
        assert.ok(other.candles.length > 0, 'a day whose file is whole still has its candles');
        const pipeline = all.get('/api/pipeline')!.body as {
          ok: boolean;
          detail: string;
          lakeFreshnessMs: number | null;
          brokenFiles: { path: string; table: string }[];
        };
        assert.equal(pipeline.ok, false);
        assert.deepEqual(
          pipeline.brokenFiles.map((broken) => [broken.table, broken.path]),
          [['prices', file]],
        );
        assert.equal(typeof pipeline.lakeFreshnessMs, 'number', 'the freshness comes from the rollup, which is whole');
        assert.ok(pipeline.detail.includes(file), pipeline.detail);
        const warning = recorded.lines.find((line) => line.level === 40 && line.file === file);
        assert.ok(warning, 'a WARN line names the file');
        assert.match(String(warning.msg), /cannot be read/);
      } finally {
        await writeFile(absolute, original);
      }
      // Back in place: health, the pipeline and the routes recover without a restart.
      const healed = await waitFor(
        async () => {
          const health = await get(server, '/api/health');
          return (health.body.parts as Record<string, { ok: boolean }>).files!.ok ? health : undefined;
        },
        10_000,
        'the files check green again',
      );
      assert.ok(healed);
      const all = await answers();
      for (const [path, answer] of all) assert.equal(answer.status, 200, `${path}: ${answer.text.slice(0, 200)}`);
      assert.deepEqual((all.get('/api/pipeline')!.body as { brokenFiles: unknown[] }).brokenFiles, []);
      assert.ok(recorded.lines.some((line) => line.level === 30 && line.file === file && /reads again/.test(String(line.msg))));
    });
  }
});

describe('a lake folder that refuses writes, then accepts them again', () => {
  it("turns the processor's health red while commits fail and green once one succeeds, nothing lost, the routes answering throughout", async () => {
    const fixture = await FixtureLake.create();
    const env = {
      LAKE_DIR: fixture.root,
      PROVIDERS: 'synthetic',
      PORT: '0',
      CACHE_TTL_MS: '0',
      FLUSH_INTERVAL_MS: '200',
      FLUSH_MAX_RECORDS: '30000',
    };
    const { log } = recordingLogger();
    const adapters = await openAdapters(env, log);
    const metrics = new Metrics();
    const processor = await startProcessor(adapters, env, log, metrics);
    const server = await startLakeQuery(adapters, env, log, metrics);
    const processorHealth = async () => {
      const health = await get(server, '/api/health');
      return health.body.processor as { ok: boolean; detail: string };
    };
    const publish = async (symbol: string, count: number, from: number) => {
      const records = Array.from({ length: count }, (_, i) =>
        toPriceRecord({ source: 'a', symbol, ts: from + i * 10, price_usd: 100 + (i % 50) }, from),
      );
      await adapters.bus.publish(
        'prices',
        records.map((record) => ({ key: symbol, value: JSON.stringify(record) })),
      );
    };
    try {
      const start = FIRST_DAY + 2 * DAY_MS;
      // A first commit, small enough to be inlined in the catalog: it needs no data folder.
      await publish('BTC', 10, start);
      await waitFor(
        async () => ((await get(server, '/api/latest')).body.prices as unknown[]).length === 1,
        20_000,
        'the first commit in the lake',
      );
      assert.equal((await processorHealth()).ok, true);

      // The folder of the prices table becomes unwritable: a file stands where it must be.
      const folder = join(fixture.root, 'main', 'prices');
      await rm(folder, { recursive: true, force: true });
      await mkdir(join(fixture.root, 'main'), { recursive: true });
      await writeFile(folder, 'not a folder');
      // More than the inlining limit in one commit: it must write a Parquet file, and cannot.
      await publish('ETH', 20_000, start + 3_600_000);
      const red = await waitFor(
        async () => {
          const health = await processorHealth();
          return health.ok ? undefined : health;
        },
        30_000,
        'the processor red while its commits fail',
      );
      assert.match(red.detail, /prices|Cannot|directory|folder|file/i);
      const whileFailing = await get(server, '/api/pipeline');
      assert.equal(whileFailing.status, 200);
      assert.equal((whileFailing.body as { ok: boolean }).ok, false);
      const latest = await get(server, '/api/latest');
      assert.equal(latest.status, 200, 'what was committed still answers');
      assert.deepEqual(
        (latest.body.prices as { symbol: string }[]).map((p) => p.symbol),
        ['BTC'],
      );

      // The folder accepts writes again: the retried commit lands and the error clears.
      await rm(folder);
      const green = await waitFor(
        async () => {
          const health = await processorHealth();
          return health.ok ? health : undefined;
        },
        60_000,
        'the processor green again once a commit succeeded',
      );
      assert.doesNotMatch(green.detail, /Cannot|directory/);
      // Nothing lost: every record published is committed, the ones held back during the outage too.
      await waitFor(async () => /20010 records/.test((await processorHealth()).detail), 60_000, 'all 20,010 records committed');
      const after = await get(server, '/api/latest');
      assert.deepEqual(
        (after.body.prices as { symbol: string }[]).map((p) => p.symbol),
        ['BTC', 'ETH'],
      );
      const health = await get(server, '/api/health');
      assert.equal((health.body.parts as Record<string, { ok: boolean }>).files!.ok, true);
      assert.equal(((await get(server, '/api/pipeline')).body as { ok: boolean }).ok, true);
    } finally {
      await processor.stop();
      await server.close();
      await adapters.close();
      await fixture.remove();
    }
  });
});

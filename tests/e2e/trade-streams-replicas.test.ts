import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAdapters } from '../../core/adapters/select.ts';
import { silentLogger } from '../../core/log.ts';
import { Metrics } from '../../core/metrics.ts';
import { uniqueName, waitFor } from '../../core/testing/wait.ts';
import { startProcessor } from '../../processor/start.ts';
import { loadScraperConfig } from '../../scraper/config.ts';
import { loadStreamsConfig } from '../../scraper/streams/config.ts';
import { startStreams, type Streams } from '../../scraper/streams/start.ts';
import { startFakeVenue, type FakeVenue, type FakeVenueName } from '../../scraper/streams/venues/fake-venue.ts';
import { fakeVenueEnv } from '../../scraper/streams/venues/fake-venue-env.ts';
import { QUICK_STREAM_ENV, TEST_MARKETS } from '../../scraper/streams/testing/quick-streams.ts';
import { startPart, type PartProcess } from '../support/process.ts';
import { isolatedLake, stack } from '../support/stack.ts';
import { checkTradeLake, closeTrading, lakeOf, lakeReaches, tradesGoOn } from '../support/trade-lake-check.ts';

const VENUE_NAMES = Object.keys(TEST_MARKETS) as FakeVenueName[];
const TRADES_PER_SECOND = 100;
/** How often the second replica is killed and started again. */
const KILLS = 4;
/** Trades every market makes while the killed replica runs again, between two kills. */
const TRADES_BETWEEN_KILLS = 150;
const marketsOf = (venue: string) => TEST_MARKETS[venue as FakeVenueName];

/** The fake venues of one test, trading from the start; closed when the file ends. */
async function tradingVenues(seed: number): Promise<FakeVenue[]> {
  const venues: FakeVenue[] = [];
  for (const [index, venue] of VENUE_NAMES.entries()) {
    const fake = await startFakeVenue({ venue, markets: TEST_MARKETS[venue], tradesPerSecond: TRADES_PER_SECOND, seed: seed + index });
    venues.push(fake);
    after(() => fake.close());
  }
  return venues;
}

/**
 * Checks the lake against the venues: every trade once, none lost, no gap, candles equal to the
 * venues' own. Returns how many trades the lake holds.
 */
async function assertEveryTradeOnce(env: Record<string, string>, venues: readonly FakeVenue[]): Promise<number> {
  const reports = await checkTradeLake(await lakeOf(env), venues, marketsOf);
  assert.equal(reports.length, 6);
  for (const report of reports) {
    const what = `${report.venue} ${report.market}`;
    const summary = JSON.stringify({ ...report, lost: report.lost.length, candleMismatches: report.candleMismatches.length });
    assert.deepEqual(report.lost.slice(0, 10), [], `${what}: ${report.lost.length} trades lost (${summary})`);
    assert.equal(report.duplicates, 0, `${what}: trades twice in the lake`);
    assert.deepEqual(report.madeUp, [], `${what}: trades the venue never made`);
    assert.deepEqual(report.gapIds, {}, `${what}: a gap while another replica read the venue`);
    assert.deepEqual(report.candleMismatches.slice(0, 3), [], `${what}: trade candles differ from the venue's trades`);
    assert.equal(report.inLake, report.made, `${what}: ${summary}`);
    assert.ok(report.made > KILLS * TRADES_BETWEEN_KILLS, `${what}: only ${report.made} trades`);
  }
  return reports.reduce((sum, report) => sum + report.inLake, 0);
}

describe('two stream replicas on the same venues, one killed and started again repeatedly', () => {
  it('embedded: the lake holds every trade once and the trade candles count it once', { timeout: 240_000 }, async () => {
    const lakeDir = await mkdtemp(join(tmpdir(), 'cryptolake-trade-replicas-'));
    after(() => rm(lakeDir, { recursive: true, force: true }));
    const venues = await tradingVenues(80);
    const env = { LAKE_DIR: lakeDir, FLUSH_INTERVAL_MS: '500', ...QUICK_STREAM_ENV, ...fakeVenueEnv(venues) };
    const adapters = await openAdapters(env, silentLogger);
    after(() => adapters.close());
    const lake = adapters.lake;
    const processor = await startProcessor(adapters, env, silentLogger, new Metrics());
    let replicas = 0;
    const replica = async () => {
      replicas += 1;
      const streams = await startStreams(
        adapters,
        loadStreamsConfig(env),
        loadScraperConfig(env),
        silentLogger,
        new Metrics(),
        `replica-${replicas}`,
      );
      assert.ok(streams);
      return streams;
    };
    const reading = (streams: Streams) => streams.status().venues.every((venue) => venue.connected && venue.tradesReceived > 0);

    const steady = await replica();
    let churned = await replica();
    for (let kill = 0; kill < KILLS; kill += 1) {
      await waitFor(() => reading(steady) && reading(churned), 20_000, 'both replicas reading every venue');
      await tradesGoOn(venues, marketsOf, TRADES_BETWEEN_KILLS);
      // In one process the nearest thing to a kill: stopped without waiting for what it holds.
      await churned.stop(0);
      churned = await replica();
    }
    await waitFor(() => reading(churned), 20_000, 'the last replica reading every venue');
    const last = closeTrading(venues, marketsOf);
    await waitFor(() => lakeReaches(lake, last), 60_000, 'every market up to its last trade in the lake');
    await churned.stop();
    await steady.stop();
    await processor.drain(30_000);
    const dropped = processor.status().duplicatesDroppedByDataset.trades ?? 0;
    await processor.stop();

    const trades = await assertEveryTradeOnce(env, venues);
    // The steady replica published every trade, the other one a stretch of each market between kills: the lake kept one copy.
    assert.ok(dropped >= TRADES_BETWEEN_KILLS, `the processor dropped ${dropped} copies of ${trades} trades`);
  });

  it(
    'on Kafka, MinIO and the PostgreSQL catalog, killed by SIGKILL: the lake holds every trade once and the trade candles count it once',
    { timeout: 300_000 },
    async () => {
      const services = await stack();
      const venues = await tradingVenues(90);
      const env: Record<string, string> = {
        ...services,
        ...isolatedLake('trade-replicas'),
        KAFKA_TOPIC: uniqueName('replicas-prices'),
        DEAD_LETTER_TOPIC: uniqueName('replicas-dead'),
        ALERTS_TOPIC: uniqueName('replicas-alerts'),
        TRADES_TOPIC: uniqueName('replicas-trades'),
        GAPS_TOPIC: uniqueName('replicas-gaps'),
        KAFKA_GROUP: uniqueName('replicas-group'),
        REDIS_KEY_PREFIX: `${uniqueName('replicas')}:`,
        FLUSH_INTERVAL_MS: '500',
        HEALTH_PORT: '0',
        PROVIDERS: 'synthetic',
        SYMBOLS: 'BTC',
        POLL_INTERVAL_MS: '3600000',
        ...QUICK_STREAM_ENV,
        ...fakeVenueEnv(venues),
      };
      const lake = await lakeOf(env);
      const parts: PartProcess[] = [];
      after(() => {
        for (const part of parts) part.kill('SIGKILL');
      });
      const start = (entry: string) => {
        const part = startPart(entry, env);
        parts.push(part);
        return part;
      };
      /** True once the replica logged a connection to every venue. */
      const reading = (part: PartProcess) =>
        VENUE_NAMES.every((venue) => part.logs.some((line) => line.msg === 'Stream connected' && line.venue === venue));
      const processor = start('processor/main.ts');
      const steady = start('scraper/main.ts');
      let churned = start('scraper/main.ts');
      try {
        for (let kill = 0; kill < KILLS; kill += 1) {
          await waitFor(() => reading(steady) && reading(churned), 60_000, 'both replicas reading every venue');
          await tradesGoOn(venues, marketsOf, TRADES_BETWEEN_KILLS);
          churned.kill('SIGKILL');
          await churned.exited;
          churned = start('scraper/main.ts');
        }
        await waitFor(() => reading(churned), 60_000, 'the last replica reading every venue');
        const last = closeTrading(venues, marketsOf);
        await waitFor(() => lakeReaches(lake, last), 90_000, 'every market up to its last trade in the lake');
      } catch (error) {
        const warnings = parts.flatMap((part) => part.logs.filter((line) => Number(line.level) >= 40).slice(-5));
        throw new Error(`${(error as Error).message}; last warnings: ${JSON.stringify(warnings)}`, { cause: error });
      }
      const running = processor.logs.find((line) => line.msg === 'processor is running');
      const health = (await (await fetch(`http://127.0.0.1:${String(running?.healthPort)}/health`)).json()) as {
        status: { duplicatesDroppedByDataset: Record<string, number> };
      };
      for (const part of [churned, steady, processor]) {
        part.kill('SIGTERM');
        assert.equal(await part.exited, 0, part.stderr());
      }

      const trades = await assertEveryTradeOnce(env, venues);
      const dropped = health.status.duplicatesDroppedByDataset.trades ?? 0;
      assert.ok(dropped >= TRADES_BETWEEN_KILLS, `the processor dropped ${dropped} copies of ${trades} trades`);
    },
  );
});

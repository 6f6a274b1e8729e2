import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../core/testing/wait.ts';
import { startFakeVenue, type FakeVenue, type FakeVenueName } from '../../scraper/streams/venues/fake-venue.ts';
import { fakeVenueEnv } from '../../scraper/streams/venues/fake-venue-env.ts';
import { QUICK_STREAM_ENV, TEST_MARKETS } from '../../scraper/streams/testing/quick-streams.ts';
import type { StreamsReport } from '../../lake-query/http/streams.ts';
import type { TradeMarket } from '../../lake-query/trade-queries.ts';
import { startPart, type PartProcess } from '../support/process.ts';
import { checkTradeLake, closeTrading, lakeOf, lakeReaches, tradesGoOn } from '../support/trade-lake-check.ts';

const VENUE_NAMES = Object.keys(TEST_MARKETS) as FakeVenueName[];
const TRADES_PER_SECOND = 100;
/** Coinbase's REST history keeps 2 s of trades: less than a restart takes. */
const COINBASE_HISTORY = 200;
const marketsOf = (venue: string) => TEST_MARKETS[venue as FakeVenueName];

/** GETs a JSON route of a running `npm start`. */
async function get<T>(url: string, path: string): Promise<T> {
  const response = await fetch(`${url}${path}`);
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/** The error, with the last warnings the process logged: what it met before the test gave up. */
function withWarnings(error: unknown, app: PartProcess): Error {
  const warnings = app.logs.filter((line) => Number(line.level) >= 40).slice(-10);
  return new Error(`${(error as Error).message}; its last warnings: ${JSON.stringify(warnings)}`, { cause: error });
}

async function urlOf(app: PartProcess): Promise<string> {
  const line = await waitFor(() => app.logs.find((log) => typeof log.url === 'string'), 90_000, `npm start's URL (${app.stderr()})`);
  return line.url as string;
}

describe('npm start killed mid-stream and started again, embedded', () => {
  const venues = new Map<FakeVenueName, FakeVenue>();
  after(async () => {
    for (const venue of venues.values()) await venue.close();
  });

  it(
    'holds every trade the venues made once, or in a restart gap where REST history no longer had it, with candles to match',
    { timeout: 300_000 },
    async () => {
      const lakeDir = await mkdtemp(join(tmpdir(), 'cryptolake-trade-restart-'));
      after(() => rm(lakeDir, { recursive: true, force: true }));
      for (const [index, venue] of VENUE_NAMES.entries()) {
        const history = venue === 'coinbase' ? { historyLimit: COINBASE_HISTORY } : {};
        venues.set(
          venue,
          await startFakeVenue({ venue, markets: TEST_MARKETS[venue], tradesPerSecond: TRADES_PER_SECOND, seed: 70 + index, ...history }),
        );
      }
      const env = {
        PROVIDERS: 'synthetic',
        SYMBOLS: 'BTC',
        POLL_INTERVAL_MS: '3600000',
        LAKE_DIR: lakeDir,
        FLUSH_INTERVAL_MS: '500',
        PORT: '0',
        ...QUICK_STREAM_ENV,
        ...fakeVenueEnv(venues.values()),
      };
      const lake = await lakeOf(env);
      /** Per market, its trades in the lake and its last trade time, as the Trades card lists them. */
      const markets = async (url: string) =>
        new Map((await get<{ markets: TradeMarket[] }>(url, '/api/trade-markets')).markets.map((m) => [`${m.venue} ${m.market}`, m]));
      const everyMarket = (found: Map<string, TradeMarket>, holds: (market: TradeMarket) => boolean) =>
        VENUE_NAMES.every((venue) =>
          TEST_MARKETS[venue].every((market) => found.has(`${venue} ${market}`) && holds(found.get(`${venue} ${market}`)!)),
        );

      const first = startPart('main.ts', env);
      try {
        const url = await urlOf(first);
        await waitFor(
          async () => everyMarket(await markets(url), (m) => m.trades >= 200),
          60_000,
          '200 trades of every market in the lake',
        );
      } catch (error) {
        throw withWarnings(error, first);
      } finally {
        first.kill('SIGKILL');
      }
      await first.exited;
      const killedAt = Date.now();
      // The venues go on trading while nothing reads them: 3 s of trades, more than coinbase's REST history keeps.
      await tradesGoOn([...venues.values()], marketsOf, TRADES_PER_SECOND * 3);

      const second = startPart('main.ts', env);
      try {
        const url = await urlOf(second);
        await waitFor(
          async () => everyMarket(await markets(url), (m) => m.lastTs > killedAt + 3_000),
          60_000,
          'trades made after the restart in the lake',
        );
        // The restart's holes: fetched back, on coinbase only the newest (its history is short), the rest a gap.
        await waitFor(
          async () => {
            const { venues: streams } = await get<StreamsReport>(url, '/api/streams');
            const of = (venue: string) => streams.find((v) => v.venue === venue);
            return VENUE_NAMES.every((venue) => (of(venue)?.tradesRefilled ?? 0) > 0) && (of('coinbase')?.gapsRecorded ?? 0) >= 2;
          },
          60_000,
          'trades fetched back on every venue and a gap on both coinbase markets',
        );
        const last = closeTrading([...venues.values()], marketsOf);
        await waitFor(() => lakeReaches(lake, last), 60_000, 'every market up to its last trade in the lake');
      } catch (error) {
        throw withWarnings(error, second);
      } finally {
        second.kill('SIGINT');
      }
      assert.equal(await second.exited, 0, second.stderr());

      const resumed = second.logs.filter((line) => line.msg === 'Resuming a trade stream where the last run left it');
      assert.equal(resumed.length, 6, 'every market resumed where the lake left it');
      const reports = await checkTradeLake(lake, venues.values(), marketsOf);
      for (const report of reports) {
        const what = `${report.venue} ${report.market}`;
        assert.deepEqual(
          report.lost.slice(0, 10),
          [],
          `${what}: ${report.lost.length} trades neither in the lake nor in a gap (${report.lost[0]}-${report.lost.at(-1)}; ${JSON.stringify({ ...report, lost: undefined, madeUp: undefined, candleMismatches: undefined })})`,
        );
        assert.equal(report.duplicates, 0, `${what}: trades twice in the lake`);
        assert.deepEqual(report.madeUp, [], `${what}: trades the venue never made`);
        assert.deepEqual(report.candleMismatches.slice(0, 3), [], `${what}: trade candles differ from the venue's trades`);
        assert.ok(report.made > 1_000, `${what}: only ${report.made} trades`);
        if (report.venue === 'coinbase') {
          assert.deepEqual(Object.keys(report.gapIds), ['restart'], `${what}: ${JSON.stringify(report.gapIds)}`);
          assert.ok(report.inGaps > 0 && report.viaRest > 0, `${what}: ${report.inGaps} in gaps, ${report.viaRest} refilled`);
        } else {
          assert.deepEqual(report.gapIds, {}, `${what}: REST history had every trade made while down`);
          assert.ok(report.viaRest >= TRADES_PER_SECOND * 3, `${what}: only ${report.viaRest} trades fetched back`);
        }
      }
    },
  );
});

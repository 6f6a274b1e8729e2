/**
 * Exchange trade streams end to end, on the shared local stack (Kafka, and a lake of its own on the
 * services: PostgreSQL catalog schema, MinIO prefix):
 *
 *   npx tsx bench/trade-streams.ts [--rate 20000] [--seconds 60] [--kill-every 10] [--replicas 1|2] [--quick]
 *   (--quick = 5000 trades/s for 20 s, connections killed every 5 s)
 *
 * Three fake venues (scraper/streams/venues/: Binance, Coinbase, Kraken, 4 markets each) in this
 * process make `--rate` trades per second in total; the scraper (`scraper/main.ts`, trade streams
 * only matter here) and the processor (`processor/main.ts`) run as real processes on Kafka and
 * MinIO. Every `--kill-every` seconds each venue resets every connection (TCP reset, no close), so
 * the trades made while the scraper reconnects reach it only through REST refills, and burns 3
 * trade ids of one market (made, never streamed, absent from REST history). At the end the
 * venues stop, one last trade per market closes the holes, and once the processor has committed
 * everything the lake is read by a DuckDB that attaches its catalog read-only, as any client would,
 * and checked against the venues' own record:
 * every trade the venue made since the scraper's first one is in the lake exactly once or inside
 * a recorded gap, and the burned ids are exactly the ids in gap records. Reported: trades made, in the lake, duplicates, lost (must be 0), refilled,
 * recorded as gaps, reconnects, processor and scraper RSS (sampled each second) and CPU.
 *
 * With `--replicas 2`, two scrapers read the same venues, sharing their marks through Redis (a key
 * prefix of the run's own), and instead of the connection resets and burned ids, the second one is
 * killed (SIGKILL) every `--kill-every` seconds and started again at once: every trade must be in
 * the lake once and no id in a gap record; the copies the processor dropped are the messages on the
 * trades topic beyond the lake's rows. The scraper RSS and CPU are the replica that stays up.
 *
 * The lake (S3 prefix `bench/trade-streams-<id>/`, schema `bench_trade_streams_<id>`) is deleted at the end. Writes bench/results/trade-streams.json
 * (`trade-streams-replicas.json` with two replicas; `-quick` before `.json` with `--quick`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { KafkaBus } from '../core/adapters/kafka/bus.ts';
import { silentLogger } from '../core/log.ts';
import { lakeReader } from '../tests/support/pipeline.ts';
import { stack } from '../tests/support/stack.ts';
import { startFakeVenue, type FakeVenue, type FakeVenueName } from '../scraper/streams/venues/fake-venue.ts';
import { fakeVenueEnv } from '../scraper/streams/venues/fake-venue-env.ts';
import {
  ROOT,
  cpuSeconds,
  median,
  percentile,
  removeStackLake,
  round,
  sleep,
  stackLake,
  stackLakeEnv,
  stackServiceEnv,
  writeResult,
} from './support.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string' },
    seconds: { type: 'string' },
    'kill-every': { type: 'string' },
    replicas: { type: 'string', default: '1' },
    quick: { type: 'boolean', default: false },
  },
});
const RATE = Number(values.rate ?? (values.quick ? 5_000 : 20_000));
const SECONDS = Number(values.seconds ?? (values.quick ? 20 : 60));
const KILL_EVERY_S = Number(values['kill-every'] ?? (values.quick ? 5 : 10));
const SYMBOLS = ['BTC', 'ETH', 'SOL', 'XRP'];
const MARKETS: Record<FakeVenueName, string[]> = {
  binance: SYMBOLS.map((symbol) => `${symbol}USDT`),
  coinbase: SYMBOLS.map((symbol) => `${symbol}-USD`),
  kraken: SYMBOLS.map((symbol) => `${symbol}/USD`),
};
const VENUES = Object.keys(MARKETS) as FakeVenueName[];
const PER_MARKET = RATE / (VENUES.length * SYMBOLS.length);
const REPLICAS = Number(values.replicas);
if (REPLICAS !== 1 && REPLICAS !== 2) throw new Error(`--replicas: 1 or 2, not ${values.replicas}`);
/** Ids burned at each connection reset; none with two replicas, where the kills are the replica's. */
const BURNED_PER_KILL = REPLICAS === 1 ? 3 : 0;
/** How long the trades topic must stay still, all committed, before the run is over: more than a REST budget's minute. */
const REFILL_QUIET_MS = 65_000;

const env = await stack();
const run = `${Date.now()}`;
const lakeName = `trade-streams-${run}`;
const topics = {
  KAFKA_TOPIC: `bench-ts-prices-${run}`,
  DEAD_LETTER_TOPIC: `bench-ts-dead-${run}`,
  ALERTS_TOPIC: `bench-ts-alerts-${run}`,
  TRADES_TOPIC: `bench-ts-trades-${run}`,
  GAPS_TOPIC: `bench-ts-gaps-${run}`,
};
const group = `bench-ts-${run}`;
const bus = new KafkaBus({ brokers: env.KAFKA_BROKERS.split(','), partitions: 6, log: silentLogger });

const venues = new Map<FakeVenueName, FakeVenue>();
for (const [index, venue] of VENUES.entries()) {
  venues.set(
    venue,
    await startFakeVenue({ venue, markets: MARKETS[venue], tradesPerSecond: 0, seed: 100 + index, historyLimit: 2_000_000 }),
  );
}

/** Parts the benchmark means to end (a replica it kills, everything at the end): their exit is no failure. */
const ending = new Set<ChildProcess>();

/** Starts a part as a process; one that exits unasked ends the benchmark as failed, naming it. */
function part(script: string, extra: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...stackServiceEnv(env),
      // One replica: no REDIS_URL, rate budgets and status stay in-process. Two: they share marks,
      // rate budgets and status through Redis, under a key prefix of the run's own.
      ...(REPLICAS === 2 ? { REDIS_URL: env.REDIS_URL, REDIS_KEY_PREFIX: `bench-ts-${run}:` } : {}),
      LOG_LEVEL: 'warn',
      NODE_NO_WARNINGS: '1',
      KAFKA_PARTITIONS: '6',
      ...stackLakeEnv(env, lakeName),
      ...topics,
      ...extra,
    },
    stdio: ['ignore', process.env.BENCH_PART_LOGS ? 'inherit' : 'ignore', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (ending.has(child)) return;
    process.stderr.write(`FAILED: ${script} (pid ${child.pid}) exited during the run: ${signal ?? `code ${code}`}\n`);
    process.exit(1);
  });
  return child;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

const processor = part('processor/main.ts', { KAFKA_GROUP: group });
const scraperEnv = {
  PROVIDERS: 'synthetic',
  SYMBOLS: 'BTC',
  POLL_INTERVAL_MS: '3600000',
  ...fakeVenueEnv(venues.values()),
  STREAM_SYMBOLS: SYMBOLS.join(','),
};
const scraper = part('scraper/main.ts', scraperEnv);
/** With two replicas, the one killed every `--kill-every` seconds. */
let churned = REPLICAS === 2 ? part('scraper/main.ts', scraperEnv) : undefined;
const samples = { processor: [] as number[], scraper: [] as number[] };
const sampler = setInterval(() => {
  void rssMb(processor.pid!).then((mb) => mb > 0 && samples.processor.push(mb));
  void rssMb(scraper.pid!).then((mb) => mb > 0 && samples.scraper.push(mb));
}, 1_000);

// Let the parts connect before the venues start trading: the scrapers' first trade is the start.
// On a loaded machine a process takes a while to start: wait for every scraper's connections.
const connectDeadline = Date.now() + 120_000;
while (![...venues.values()].every((venue) => venue.stats().openConnections >= REPLICAS)) {
  if (Date.now() > connectDeadline) throw new Error('the scrapers did not connect to every venue in 2 minutes');
  await sleep(200);
}
await sleep(2_000);
const connectionsBefore = [...venues.values()].reduce((sum, venue) => sum + venue.stats().connectionsAccepted, 0);
for (const venue of venues.values()) venue.setRate(PER_MARKET);
const started = performance.now();
let kills = 0;
while (performance.now() - started < SECONDS * 1000) {
  await sleep(Math.min(KILL_EVERY_S * 1000, SECONDS * 1000 - (performance.now() - started)));
  if (performance.now() - started >= SECONDS * 1000 - 100) break;
  if (churned) {
    ending.add(churned);
    churned.kill('SIGKILL');
    await once(churned, 'exit');
    churned = part('scraper/main.ts', scraperEnv);
  } else {
    for (const [name, venue] of venues) {
      venue.killConnections();
      // And a few ids no REST call can return: they must come out as gap records, not as silence.
      venue.skipForever(MARKETS[name][kills % SYMBOLS.length]!, BURNED_PER_KILL);
    }
  }
  kills += 1;
}
for (const venue of venues.values()) venue.setRate(0);
const tradingSeconds = (performance.now() - started) / 1000;
// One last trade per market, once the scraper is connected again, closes the holes still open.
await sleep(3_000);
for (const [name, venue] of venues) for (const market of MARKETS[name]) venue.emit(market, 1);
await sleep(8_000);

// Done when the processor has committed all of the trades topic and nothing new came for
// REFILL_QUIET_MS: a refill that used up a venue's REST budget waits for the next minute's.
const caughtUpAt = await waitUntilCommitted([topics.TRADES_TOPIC], REFILL_QUIET_MS);
const drainSeconds = (caughtUpAt - started) / 1000 - tradingSeconds;
clearInterval(sampler);
const cpu = { processor: await cpuSeconds(processor.pid!), scraper: await cpuSeconds(scraper.pid!) };
// The scrapers stop first (a hole still open becomes a gap record), then the processor commits what they published last.
const scrapers = [scraper, ...(churned ? [churned] : [])];
for (const child of [...scrapers, processor]) ending.add(child);
await Promise.all(scrapers.map((child) => (child.kill('SIGTERM'), once(child, 'exit'))));
await waitUntilCommitted([topics.TRADES_TOPIC, topics.GAPS_TOPIC], 3_000);
const onTheBus = [...(await bus.endOffsets(topics.TRADES_TOPIC)).values()].reduce((sum, end) => sum + end, 0);
processor.kill('SIGTERM');
await once(processor, 'exit');

const lake = await readLake();
const report = check(lake);
const result = {
  machine: '2 cores, 24 GB',
  node: process.version,
  offeredTradesPerSecond: RATE,
  markets: VENUES.length * SYMBOLS.length,
  seconds: round(tradingSeconds, 1),
  replicas: REPLICAS,
  connectionKills: REPLICAS === 1 ? kills : 0,
  replicaKills: REPLICAS === 2 ? kills : 0,
  idsBurned: kills * VENUES.length * BURNED_PER_KILL,
  reconnects: [...venues.values()].reduce((sum, venue) => sum + venue.stats().connectionsAccepted, 0) - connectionsBefore,
  ...report,
  /** Trade messages the scrapers published; beyond the lake's rows, the copies the processor dropped. */
  tradeMessagesOnTheBus: onTheBus,
  copiesDroppedByTheProcessor: onTheBus - lake.rows,
  achievedTradesPerSecond: Math.round(report.tradesMade / tradingSeconds),
  drainSecondsAfterStop: round(drainSeconds, 1),
  processor: rssSummary(samples.processor, cpu.processor, report.tradesInLake),
  scraper: rssSummary(samples.scraper, cpu.scraper, report.tradesInLake),
};
const resultName = REPLICAS === 2 ? 'trade-streams-replicas' : 'trade-streams';
await writeResult(values.quick ? `${resultName}-quick` : resultName, result);
await removeStackLake(env, lakeName);
for (const venue of venues.values()) await venue.close();
await bus.close();
if (report.lost > 0 || report.duplicates > 0 || report.idsInGapRecords !== result.idsBurned) {
  process.stderr.write(
    `FAILED: ${report.lost} trades lost, ${report.duplicates} duplicated, ${report.idsInGapRecords} ids in gaps of ${result.idsBurned} burned\n`,
  );
  process.exitCode = 1;
}

/**
 * Waits (10 minutes at most) until the processor's group has committed the end of every partition
 * of `topicNames` and no topic grew for `quietMs`; returns when it first stood there (performance.now()).
 */
async function waitUntilCommitted(topicNames: string[], quietMs: number): Promise<number> {
  const deadline = Date.now() + 10 * 60_000;
  let last = '';
  let since = performance.now();
  for (;;) {
    if (Date.now() > deadline) throw new Error(`the processor did not catch up with ${topicNames.join(', ')} in 10 minutes`);
    let caughtUp = true;
    const ends: string[] = [];
    for (const topic of topicNames) {
      const end = await bus.endOffsets(topic).catch(() => new Map<number, number>());
      const committed = await bus.committedOffsets(group, topic).catch(() => new Map<number, number>());
      caughtUp &&= [...end].every(([partition, offset]) => offset === 0 || committed.get(partition) === offset);
      ends.push(JSON.stringify([...end]));
    }
    const now = ends.join();
    if (!caughtUp || now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since > quietMs) return since;
    await sleep(500);
  }
}

function rssSummary(mb: number[], cpuSeconds: number, trades: number) {
  const third = Math.max(1, Math.floor(mb.length / 3));
  return {
    rssMaxMb: Math.round(Math.max(...mb)),
    rssMedianMb: Math.round(median(mb)),
    rssP95Mb: Math.round(percentile(mb, 95)),
    /** Flat memory: the median of the first third of the samples against the last third's. */
    rssFirstThirdMedianMb: Math.round(median(mb.slice(0, third))),
    rssLastThirdMedianMb: Math.round(median(mb.slice(-third))),
    cpuSecondsPerMillionTrades: round((cpuSeconds / trades) * 1e6, 1),
  };
}

interface Lake {
  ids: Map<string, number[]>;
  rows: number;
  distinct: number;
  viaRest: number;
  gaps: Map<string, { first: number; last: number }[]>;
}

async function readLake(): Promise<Lake> {
  const { db, close } = await lakeReader(await stackLake(env, lakeName));
  try {
    const trades = (await db.runAndReadAll(`SELECT venue, market, trade_id, via FROM trades`)).getRowObjects();
    const ids = new Map<string, number[]>();
    let viaRest = 0;
    for (const row of trades) {
      const key = `${String(row.venue)} ${String(row.market)}`;
      let list = ids.get(key);
      if (!list) ids.set(key, (list = []));
      list.push(Number(row.trade_id));
      if (row.via === 'rest') viaRest += 1;
    }
    const gapRows = (await db.runAndReadAll(`SELECT DISTINCT venue, market, first_trade_id, last_trade_id FROM gaps`)).getRowObjects();
    const gaps = new Map<string, { first: number; last: number }[]>();
    for (const row of gapRows) {
      const key = `${String(row.venue)} ${String(row.market)}`;
      gaps.set(key, [...(gaps.get(key) ?? []), { first: Number(row.first_trade_id), last: Number(row.last_trade_id) }]);
    }
    const distinct = [...ids.values()].reduce((sum, list) => sum + new Set(list).size, 0);
    return { ids, rows: trades.length, distinct, viaRest, gaps };
  } finally {
    close();
  }
}

/** The lake against the venues' record, market by market, from the first trade the scraper got. */
function check(lake: Lake) {
  let made = 0;
  let lost = 0;
  let inGaps = 0;
  const lostExamples: string[] = [];
  for (const [name, venue] of venues) {
    for (const market of MARKETS[name]) {
      const key = `${name} ${market}`;
      const got = new Set(lake.ids.get(key) ?? []);
      const start = Math.min(...got);
      const gaps = lake.gaps.get(key) ?? [];
      for (const trade of venue.trades(market)) {
        if (trade.tradeId < start) continue;
        made += 1;
        if (got.has(trade.tradeId)) continue;
        if (gaps.some((gap) => gap.first <= trade.tradeId && trade.tradeId <= gap.last)) inGaps += 1;
        else {
          lost += 1;
          if (lostExamples.length < 5) lostExamples.push(`${key} #${trade.tradeId}`);
        }
      }
    }
  }
  return {
    tradesMade: made,
    tradesInLake: lake.distinct,
    duplicates: lake.rows - lake.distinct,
    refilledFromRest: lake.viaRest,
    recordedAsGaps: inGaps,
    gapRecords: [...lake.gaps.values()].reduce((sum, list) => sum + list.length, 0),
    idsInGapRecords: [...lake.gaps.values()].flat().reduce((sum, gap) => sum + gap.last - gap.first + 1, 0),
    lost,
    lostExamples,
  };
}

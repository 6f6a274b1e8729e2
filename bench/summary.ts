/**
 * One table from every JSON result in bench/results/: a row per figure, with the benchmark, the
 * size it was measured at and when. Unknown files are listed by name. `npm run bench` prints it
 * last; `npx tsx bench/summary.ts` prints it alone.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ROOT } from './support.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
/** One line of the table: which benchmark, what was measured, the figure, the size and date. */
export interface SummaryRow {
  bench: string;
  measure: string;
  value: string;
  size: string;
}

const n = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number) => (value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(value < 10 ? 2 : 1)} ms`);

/** Rows per known result file, by the name before `.json` (a `-quick` suffix is the quick size). */
const FORMATTERS: Record<string, (r: Json) => [string, string][]> = {
  'parquet-writers': (r) => (r.results as Json[]).map((w) => [`${w.writer} rows/s`, n(w.rowsPerSecond)]),
  'query-latency': (r) =>
    Object.entries(r.results as Record<string, Json>).map(([q, v]) => [`${q} cold/warm p50`, `${ms(v.coldP50)} / ${ms(v.warmP50)}`]),
  'processor-memory': (r) => [
    ['records/s', n(r.recordsPerSecond)],
    ['RSS max / median', `${r.rssMaxMb} / ${r.rssMedianMb} MB`],
  ],
  ingest: (r) => [
    ['1 processor records/s', n(r.oneProcessor.recordsPerSecond)],
    ['2 processors records/s', `${n(r.twoProcessors.recordsPerSecond)} (x${r.ratios.twoOverOne})`],
    ['CPU s per M records (1 / 2 proc)', `${r.oneProcessor.cpuSecondsPerMillion} / ${r.twoProcessors.cpuSecondsPerMillion}`],
    ['Parquet MB per M records', String(r.oneProcessor.parquetMbPerMillion)],
    ...ingestPeerRows(r),
    ['Kafka ConsumerPerformance records/s', `${n(r.kafkaConsumerPerformance.recordsPerSecond)} (ours ${pct(r.ratios.oneOfKafkaConsumer)})`],
    ['DuckDB alone NDJSON->DuckLake records/s', `${n(r.duckdbAlone.recordsPerSecond)} (ours ${pct(r.ratios.oneOfDuckdb)})`],
  ],
  'kafka-clients': (r) =>
    Object.values(r.clients as Record<string, Json>).flatMap((c): [string, string][] => [
      [`${c.label} produce / consume records/s`, `${n(c.produceRecordsPerSecond)} / ${n(c.consumeRecordsPerSecond)}`],
      [`${c.label} consume CPU s per M, peak RSS`, `${c.consumeCpuSecondsPerMillion} / ${c.consumePeakRssMb} MiB`],
      [`${c.label} restart after SIGKILL median / worst`, `${c.restartSecondsMedian} s / ${c.restartSecondsMax} s`],
    ]),
  'query-storage': (r) =>
    (r.sizes as Json[]).flatMap((size) =>
      Object.keys(size.local as Json).map((q): [string, string] => [
        `${n(size.rows)} rows ${q}: local (SQLite) / MinIO (PostgreSQL) / floor warm p50`,
        `${ms(size.local[q].warm.p50)} / ${ms(size.minio[q].warm.p50)} / ${ms(size.floor[q].p50)} (cold ${ms(size.local[q].cold.p50)} / ${ms(size.minio[q].cold.p50)})`,
      ]),
    ),
  'lake-speed': (r) => {
    // Results from before the start-up warm-up have no "cold after warm-up" figure.
    const after = r.warmUp !== undefined;
    const p95s = (v: Json) => [v.cold, ...(after ? [v.coldAfterWarmUp] : []), v.warm].map((s: Json) => ms(s.p95)).join(' / ');
    const rows = Object.entries(r.local as Record<string, Json>).map(([route, v]): [string, string] => [
      `${route}: local p95 cold${after ? ' / after warm-up' : ''} / warm (floor p95)`,
      `${p95s(v)}${r.floor[route] ? ` (${ms(r.floor[route].p95)})` : ''}${r.minio ? `; MinIO ${p95s(r.minio[route])}` : ''}`,
    ]);
    if (after)
      rows.push([
        `warm-up median, local (charts ${r.warmUp.local.symbol}; the routes ask ${r.warmUp.local.routes.symbol})`,
        ms(r.warmUp.local.medianMs),
      ]);
    rows.push(['peak RSS answering (DuckDB memory limit)', `${r.answeringPeakRssMb} MB (${r.memoryLimit})`]);
    return rows;
  },
  'rollups-candles': (r) => [
    [
      `1d candles over ${r.days} days, raw / rollups median`,
      `${ms(r.results.raw.medianMs)} / ${ms(r.results.rollups.medianMs)} (x${r.speedup}${r.sameCandles ? '' : ', ANSWERS DIFFER'})`,
    ],
  ],
  'trade-streams': (r) => [
    [
      `trades/s offered, ${r.markets} markets, ${r.connectionKills} resets`,
      `${n(r.offeredTradesPerSecond)} (${n(r.achievedTradesPerSecond)} made)`,
    ],
    ['in the lake / lost / duplicated', `${n(r.tradesInLake)} / ${n(r.lost)} / ${n(r.duplicates)}`],
    ['refilled from REST / ids in gaps (burned)', `${n(r.refilledFromRest)} / ${n(r.idsInGapRecords)} (${n(r.idsBurned)})`],
    ['processor RSS max / median', `${r.processor.rssMaxMb} / ${r.processor.rssMedianMb} MB`],
  ],
  'trade-streams-replicas': (r) => [
    [
      `trades/s offered, ${r.markets} markets, 2 replicas, ${r.replicaKills} kills`,
      `${n(r.offeredTradesPerSecond)} (${n(r.achievedTradesPerSecond)} made)`,
    ],
    ['in the lake / lost / duplicated / ids in gaps', `${n(r.tradesInLake)} / ${n(r.lost)} / ${n(r.duplicates)} / ${n(r.idsInGapRecords)}`],
    ['copies on the bus dropped by the processor', n(r.copiesDroppedByTheProcessor)],
  ],
  scraper: (r) => [
    [`polls/s, ${r.symbols} symbols over ${r.providers} providers`, `${r.pollsPerSecond} (${r.upstreamCallsPerPoll} upstream calls/poll)`],
    [
      `upstream calls, 3 replicas x ${r.replicas.rounds} polls`,
      `${r.replicas.upstreamCallsWithCache} cached vs ${r.replicas.upstreamCallsWithoutCache} (${pct(r.replicas.saved)} saved)`,
    ],
  ],
  freshness: (r) =>
    (r.rates as Json[]).flatMap((rate) => [
      [
        `${rate.mode ? `${rate.mode} ` : ''}${n(rate.offered)}/s live SSE p50/p99`,
        rate.live ? `${ms(rate.live.p50)} / ${ms(rate.live.p99)} (${n(rate.achieved)}/s sent)` : 'n/a',
      ],
      [
        `${rate.mode ? `${rate.mode} ` : ''}${n(rate.offered)}/s in the lake p50/p99`,
        rate.lake ? `${ms(rate.lake.p50)} / ${ms(rate.lake.p99)}` : 'n/a',
      ],
    ]),
};

const pct = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;

/** The ingest rows of the peer and the resources of each consumer; none in results from before the peer. */
function ingestPeerRows(r: Json): [string, string][] {
  if (!r.redpandaConnect) return [];
  const peer = r.redpandaConnect as Json;
  const resources = (c: Json) => `${c.cpuSecondsPerMillion ?? '-'} / ${c.peakRssMib ?? '-'} MiB`;
  return [
    peer.skipped
      ? ['Redpanda Connect records/s', String(peer.skipped)]
      : ['Redpanda Connect records/s', `${n(peer.recordsPerSecond)} (ours ${pct(r.ratios.oneOfRedpandaConnect)})`],
    [
      'CPU s per M, peak RSS (1 proc / 2 proc / Connect / Kafka / DuckDB)',
      [r.oneProcessor, r.twoProcessors, peer, r.kafkaConsumerPerformance, r.duckdbAlone]
        .map((c) => (c.skipped ? '-' : resources(c)))
        .join(', '),
    ],
    [
      'Parquet files per day (1 proc / 2 proc / Connect / DuckDB)',
      [r.oneProcessor, r.twoProcessors, peer, r.duckdbAlone].map((c) => String(c.filesPerDay ?? '-')).join(' / '),
    ],
  ];
}

function sizeOf(r: Json): string {
  const count = r.records ?? r.rows;
  const parts = [
    count !== undefined ? `${n(count)} ${r.records !== undefined ? 'records' : 'rows'}` : '',
    r.seconds !== undefined && count === undefined ? `${r.seconds} s` : '',
    r.runs ? `${r.runs} runs` : '',
  ];
  return parts.filter(Boolean).join(', ');
}

/** The rows of every result file present. */
export async function summaryRows(dir = `${ROOT}/bench/results`): Promise<SummaryRow[]> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((file) => file.endsWith('.json')).sort();
  const rows: SummaryRow[] = [];
  for (const file of files) {
    const name = file.replace(/\.json$/, '');
    const result = JSON.parse(await readFile(`${dir}/${file}`, 'utf8')) as Json;
    const format = FORMATTERS[name.replace(/-quick$/, '')];
    const size = `${sizeOf(result)}${result.at ? `, ${String(result.at).slice(0, 10)}` : ''}`;
    if (!format) rows.push({ bench: name, measure: '(see the file)', value: '', size });
    else for (const [measure, value] of format(result)) rows.push({ bench: name, measure, value, size });
  }
  return rows;
}

/** The rows as one aligned text table. */
export function formatTable(rows: SummaryRow[]): string {
  const header: SummaryRow = { bench: 'benchmark', measure: 'measure', value: 'value', size: 'size' };
  const all = [header, ...rows];
  const keys = ['bench', 'measure', 'value', 'size'] as const;
  const widths = keys.map((key) => Math.max(...all.map((row) => row[key].length)));
  const line = (row: SummaryRow) => keys.map((key, i) => row[key].padEnd(widths[i]!)).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${formatTable(await summaryRows())}\n`);
}

/**
 * What does writing prices to Parquet cost with each writer, and with the processor's own path?
 * Writes the same N price records with each candidate, each run in its own child process so memory
 * is measured alone, then checks the output with DuckDB (row count, SNAPPY codec on every column
 * chunk). The plain writers write one Snappy Parquet file. The project's row, "DuckLake INSERT (the
 * processor's commit)", is what the processor does with a backlog of N records: `LakeWriter.write`
 * on flushes of FLUSH_MAX_RECORDS (its default), each one DuckLake transaction (parse and validate
 * the JSON messages, deduplicate against the lake, insert the rows and their candles_1m partials,
 * move the bus offset) into a fresh local lake (SQLite catalog); its output is the lake's Parquet
 * files of `prices`.
 *
 *   npx tsx bench/parquet-writers.ts [--rows 1000000] [--runs 3]
 *
 * Prints a table and writes bench/results/parquet-writers.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOUBLE, DuckDBDataChunk, DuckDBInstance, TIMESTAMP, VARCHAR, timestampValue, type DuckDBValue } from '@duckdb/node-api';
import { parquetWriteFile } from 'hyparquet-writer';
import { LakeSession } from '../core/adapters/ducklake/session.ts';
import { prices } from '../core/datasets/index.ts';
import { resolveExtensionDir } from '../core/lake-location.ts';
import type { BusMessage } from '../core/ports/bus.ts';
import type { PriceRecord } from '../core/records/price.ts';
import { loadProcessorConfig } from '../processor/config.ts';
import type { Flush } from '../processor/flush-window.ts';
import { LakeWriter } from '../processor/lake-writer.ts';
import { localLake, median } from './support.ts';

/** What a writer is handed: the records, and for a lake writer the same records as the bus delivers them (JSON bytes). */
interface WriterInput {
  records: PriceRecord[];
  messages: BusMessage[];
}

/** What a writer's own clock measured, when it covers less than the whole call. */
interface OwnTiming {
  ms: number;
  /** Of `ms`, about this long parsing and validating the JSON (timed apart, before `ms`). */
  parseValidateMs?: number;
}

/** A writer, and whether it writes one Parquet file or a DuckLake lake (a folder with a catalog). */
interface Writer {
  write(input: WriterInput, out: string): Promise<OwnTiming | void>;
  output: 'file' | 'lake';
}

const WRITERS = {
  'parquetjs-lite': { write: ({ records }, out) => writeParquetjsLite(records, out), output: 'file' },
  'hyparquet-writer': { write: ({ records }, out) => writeHyparquet(records, out), output: 'file' },
  'duckdb-appender': { write: ({ records }, out) => writeDuckdbAppender(records, out), output: 'file' },
  "DuckLake INSERT (the processor's commit)": { write: ({ messages }, out) => writeThroughProcessorCommit(messages, out), output: 'lake' },
} as const satisfies Record<string, Writer>;
type WriterName = keyof typeof WRITERS;

interface RunResult {
  ms: number;
  parseValidateMs?: number;
  bytes: number;
  rssDeltaBytes: number;
}

// ---- data ------------------------------------------------------------------------------------

const SYMBOLS = [
  'BTC',
  'ETH',
  'SOL',
  'XRP',
  'BNB',
  'DOGE',
  'ADA',
  'TRX',
  'AVAX',
  'LINK',
  'DOT',
  'MATIC',
  'TON',
  'SHIB',
  'LTC',
  'BCH',
  'UNI',
  'ATOM',
  'XLM',
  'ETC',
  'FIL',
  'APT',
  'ARB',
  'OP',
  'NEAR',
  'ICP',
  'HBAR',
  'VET',
  'INJ',
  'RNDR',
  'GRT',
  'AAVE',
  'MKR',
  'ALGO',
  'SAND',
  'MANA',
  'EGLD',
  'XTZ',
  'THETA',
  'FTM',
  'RUNE',
  'KAS',
  'SEI',
  'SUI',
  'TIA',
  'PEPE',
  'WIF',
  'BONK',
  'JUP',
  'PYTH',
];
const SOURCES = ['coingecko', 'binance', 'kraken', 'coinbase'];

/** Realistic price records: 50 symbols x 4 sources, one observation each per second, random walks. */
function generate(rows: number): PriceRecord[] {
  let seed = 42;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const prices = SYMBOLS.map((_, index) => 30_000 / (index + 1) ** 1.7);
  const start = Date.UTC(2026, 10, 22);
  const records: PriceRecord[] = new Array(rows);
  const perTick = SYMBOLS.length * SOURCES.length;
  for (let i = 0; i < rows; i++) {
    const s = i % SYMBOLS.length;
    const source = SOURCES[Math.floor(i / SYMBOLS.length) % SOURCES.length]!;
    const ts = start + Math.floor(i / perTick) * 1000;
    prices[s] = prices[s]! * (1 + (random() - 0.5) * 0.002);
    const price = Math.round(prices[s]! * 1e6) / 1e6;
    const symbol = SYMBOLS[s]!;
    records[i] = {
      id: `${source}:${symbol}:${ts}`,
      ts,
      symbol,
      source,
      price_usd: price,
      volume_24h_usd: Math.round(random() * 5e9 * 100) / 100,
      market_cap_usd: source === 'kraken' ? null : Math.round(price * 1e7 * (1 + s) * 100) / 100,
      change_24h_pct: Math.round((random() - 0.5) * 2000) / 100,
      ingested_at: ts + 50 + Math.floor(random() * 450),
    };
  }
  return records;
}

// ---- writers ---------------------------------------------------------------------------------

interface ParquetjsLite {
  ParquetSchema: new (fields: Record<string, { type: string; optional?: boolean; compression?: string }>) => unknown;
  ParquetWriter: { openFile(schema: unknown, path: string): Promise<{ appendRow(row: object): Promise<void>; close(): Promise<void> }> };
}

async function writeParquetjsLite(records: PriceRecord[], file: string): Promise<void> {
  const parquet = createRequire(import.meta.url)('parquetjs-lite') as ParquetjsLite;
  const field = (type: string, optional = false) => ({ type, optional, compression: 'SNAPPY' });
  const schema = new parquet.ParquetSchema({
    id: field('UTF8'),
    ts: field('TIMESTAMP_MICROS'),
    symbol: field('UTF8'),
    source: field('UTF8'),
    price_usd: field('DOUBLE'),
    volume_24h_usd: field('DOUBLE', true),
    market_cap_usd: field('DOUBLE', true),
    change_24h_pct: field('DOUBLE', true),
    ingested_at: field('TIMESTAMP_MICROS'),
  });
  const writer = await parquet.ParquetWriter.openFile(schema, file);
  for (const record of records) {
    // parquetjs-lite drops optional fields that are absent, not null.
    await writer.appendRow({
      ...record,
      ts: record.ts * 1000,
      ingested_at: record.ingested_at * 1000,
      volume_24h_usd: record.volume_24h_usd ?? undefined,
      market_cap_usd: record.market_cap_usd ?? undefined,
      change_24h_pct: record.change_24h_pct ?? undefined,
    });
  }
  await writer.close();
}

async function writeHyparquet(records: PriceRecord[], file: string): Promise<void> {
  const column = <K extends keyof PriceRecord>(name: K) => records.map((record) => record[name]);
  const micros = (name: 'ts' | 'ingested_at') => records.map((record) => BigInt(record[name]) * 1000n);
  const timestamp = { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' } as const;
  parquetWriteFile({
    filename: file,
    codec: 'SNAPPY',
    columnData: [
      { name: 'id', data: column('id') },
      { name: 'ts', data: micros('ts') },
      { name: 'symbol', data: column('symbol') },
      { name: 'source', data: column('source') },
      { name: 'price_usd', data: column('price_usd') },
      { name: 'volume_24h_usd', data: column('volume_24h_usd') },
      { name: 'market_cap_usd', data: column('market_cap_usd') },
      { name: 'change_24h_pct', data: column('change_24h_pct') },
      { name: 'ingested_at', data: micros('ingested_at') },
    ],
    schema: [
      { name: 'root', num_children: 9 },
      { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'ts', type: 'INT64', logical_type: timestamp, repetition_type: 'REQUIRED' },
      { name: 'symbol', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'source', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'price_usd', type: 'DOUBLE', repetition_type: 'REQUIRED' },
      { name: 'volume_24h_usd', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
      { name: 'market_cap_usd', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
      { name: 'change_24h_pct', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
      { name: 'ingested_at', type: 'INT64', logical_type: timestamp, repetition_type: 'REQUIRED' },
    ],
  });
}

/** The textbook DuckDB route: TIMESTAMP columns filled with `timestampValue`, whole chunks appended. */
async function writeDuckdbAppender(records: PriceRecord[], file: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`CREATE TABLE prices (id VARCHAR, ts TIMESTAMP, symbol VARCHAR, source VARCHAR, price_usd DOUBLE,
    volume_24h_usd DOUBLE, market_cap_usd DOUBLE, change_24h_pct DOUBLE, ingested_at TIMESTAMP)`);
  const appender = await connection.createAppender('prices');
  const types = [VARCHAR, TIMESTAMP, VARCHAR, VARCHAR, DOUBLE, DOUBLE, DOUBLE, DOUBLE, TIMESTAMP];
  for (let start = 0; start < records.length; start += 2048) {
    const slice = records.slice(start, start + 2048);
    const chunk = DuckDBDataChunk.create(types, slice.length);
    const columns: DuckDBValue[][] = [
      slice.map((r) => r.id),
      slice.map((r) => timestampValue(BigInt(r.ts) * 1000n)),
      slice.map((r) => r.symbol),
      slice.map((r) => r.source),
      slice.map((r) => r.price_usd),
      slice.map((r) => r.volume_24h_usd),
      slice.map((r) => r.market_cap_usd),
      slice.map((r) => r.change_24h_pct),
      slice.map((r) => timestampValue(BigInt(r.ingested_at) * 1000n)),
    ];
    chunk.setColumns(columns);
    appender.appendDataChunk(chunk);
  }
  appender.closeSync();
  await connection.run(`COPY prices TO '${file.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION snappy)`);
  connection.closeSync();
  instance.closeSync();
}

/** The records as the processor receives them from the bus: JSON bytes, one partition of the prices topic. */
function asMessages(records: PriceRecord[]): BusMessage[] {
  const encoder = new TextEncoder();
  return records.map((record, offset) => ({
    key: record.symbol,
    value: encoder.encode(JSON.stringify(record)),
    topic: PRICES_TOPIC,
    partition: 0,
    offset,
    timestamp: record.ingested_at,
  }));
}

const PRICES_TOPIC = loadProcessorConfig({}).kafkaTopic;

/**
 * The processor's path: the messages committed by `LakeWriter.write` in flushes of the processor's
 * default size into a new lake at `root`. The lake is opened (catalog created, tables ensured)
 * before the clock starts, as the processor does once at start. How long parsing and validating
 * alone takes is timed apart first, for the reader.
 */
async function writeThroughProcessorCommit(messages: BusMessage[], root: string): Promise<OwnTiming> {
  const config = loadProcessorConfig({});
  const decoder = new TextDecoder();
  const parsing = performance.now();
  for (const message of messages) {
    if (!prices.validate(JSON.parse(decoder.decode(message.value))).ok) throw new Error(`record ${message.offset} fails its contract`);
  }
  const parseValidateMs = performance.now() - parsing;
  const location = localLake(root, resolveExtensionDir({ duckdbExtensionDir: process.env.DUCKDB_EXTENSION_DIR }));
  const writer = await LakeWriter.open(location, new Map([[config.kafkaTopic, prices]]), {
    memoryLimit: config.writerMemoryLimit,
    threads: config.writerThreads,
  });
  const started = performance.now();
  let ms: number;
  try {
    for (let from = 0; from < messages.length; from += config.flushMaxRecords) {
      const slice = messages.slice(from, from + config.flushMaxRecords);
      const tp = { topic: config.kafkaTopic, partition: 0 };
      const flush: Flush = {
        ranges: [{ tp, from: from === 0 ? undefined : from, to: from + slice.length, messages: slice }],
        records: slice.length,
        bytes: 0,
      };
      const outcome = await writer.write(flush, Date.now());
      if (!outcome.ok || outcome.staging.rejected > 0) throw new Error(`the commit of records ${from}.. was fenced or rejected records`);
    }
    ms = performance.now() - started;
  } finally {
    await writer.close();
  }
  // Untimed: a last commit small enough to stay inlined in the catalog goes out to a file, so the files hold every row.
  const session = await LakeSession.open(location, { readOnly: false, threads: 1 });
  try {
    await (await session.connect()).run(`CALL ducklake_flush_inlined_data('lake')`);
  } finally {
    session.close();
  }
  return { ms, parseValidateMs };
}

/** The Parquet files a writer left: its file, or the data files of `prices` in its lake. */
function parquetFiles(name: WriterName, out: string): string[] {
  if (WRITERS[name].output === 'file') return [out];
  const table = join(out, 'main', prices.name);
  return (readdirSync(table, { recursive: true }) as string[]).filter((file) => file.endsWith('.parquet')).map((file) => join(table, file));
}

// ---- harness ---------------------------------------------------------------------------------

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

/** In the child: generate, settle memory, time one write, report as JSON on stdout. */
async function child(name: WriterName, rows: number, file: string): Promise<void> {
  const records = generate(rows);
  const messages = WRITERS[name].output === 'lake' ? asMessages(records) : [];
  (globalThis as { gc?: () => void }).gc?.();
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const own = await WRITERS[name].write({ records, messages }, file);
  const ms = own ? own.ms : performance.now() - started;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const bytes = parquetFiles(name, file).reduce((sum, path) => sum + statSync(path).size, 0);
  const result: RunResult = { ms, parseValidateMs: own?.parseValidateMs, bytes, rssDeltaBytes: Math.max(0, peakRss - rssBefore) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function verify(files: string[]): Promise<{ count: number; codecs: string[] }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const path = `[${files.map((file) => `'${file.replaceAll("'", "''")}'`).join(', ')}]`;
  const count = Number((await connection.runAndReadAll(`SELECT count(*) FROM read_parquet(${path})`)).getRows()[0]![0]);
  const codecs = (await connection.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata(${path})`))
    .getRows()
    .map((row) => String(row[0]));
  connection.closeSync();
  instance.closeSync();
  return { count, codecs };
}

async function parent(rows: number, runs: number): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const folder = join(tmpdir(), `parquet-bench-${process.pid}`);
  mkdirSync(folder, { recursive: true });
  const results = [];
  for (const name of Object.keys(WRITERS) as WriterName[]) {
    const file = join(folder, `${name.replace(/[^a-zA-Z-]/g, '_')}${WRITERS[name].output === 'file' ? '.parquet' : ''}`);
    const measured: RunResult[] = [];
    for (let run = 0; run < runs; run++) {
      rmSync(file, { recursive: true, force: true });
      const outcome = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--expose-gc', script, '--child', name, '--rows', String(rows), '--out', file],
        {
          encoding: 'utf8',
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      if (outcome.status !== 0) throw new Error(`${name} run ${run + 1} failed: ${outcome.stderr}`);
      measured.push(JSON.parse(outcome.stdout.trim().split('\n').at(-1)!) as RunResult);
    }
    const files = parquetFiles(name, file);
    const check = await verify(files);
    if (check.count !== rows || check.codecs.join() !== 'SNAPPY')
      throw new Error(`${name}: file holds ${check.count} rows with codecs ${check.codecs.join()}`);
    const ms = median(measured.map((run) => run.ms));
    results.push({
      writer: name,
      rowsPerSecond: Math.round(rows / (ms / 1000)),
      medianMs: Math.round(ms),
      ...(measured[0]!.parseValidateMs === undefined
        ? {}
        : { parseValidateMs: Math.round(median(measured.map((run) => run.parseValidateMs ?? 0))) }),
      files: files.length,
      fileBytes: measured.at(-1)!.bytes,
      peakRssDeltaMiB: Math.round(median(measured.map((run) => run.rssDeltaBytes)) / 1024 / 1024),
      runsMs: measured.map((run) => Math.round(run.ms)),
      verified: `${check.count} rows, ${check.codecs.join()}`,
    });
  }
  rmSync(folder, { recursive: true, force: true });
  console.log(`\nParquet writers: ${rows.toLocaleString('en')} price rows, median of ${runs} runs, Node ${process.version}\n`);
  console.table(results.map(({ runsMs: _runs, ...row }) => row));
  const out = resolve(dirname(script), 'results', 'parquet-writers.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ rows, runs, node: process.version, at: new Date().toISOString(), results }, null, 2)}\n`);
  console.log(`Wrote ${out}`);
}

const rows = Number(argument('rows', '1000000'));
const runs = Number(argument('runs', '3'));
const childWriter = argument('child', '');
if (childWriter) await child(childWriter as WriterName, rows, argument('out', ''));
else await parent(rows, runs);

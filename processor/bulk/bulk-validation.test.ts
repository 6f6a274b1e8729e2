import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { INGESTED, alerts, deadLetters, gaps, prices, trades, type IngestedDataset } from '../../core/datasets/index.ts';
import type { BusMessage } from '../../core/ports/bus.ts';
import { parseMessage } from '../staging.ts';
import { BulkReader } from './bulk-reader.ts';
import { recordShape } from './record-shape.ts';
import { z } from 'zod';

const NOW = Date.UTC(2026, 11, 7, 12);
const encoder = new TextEncoder();

/** A seeded generator (mulberry32), so a failing corpus can be made again from the seed in the message. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(rand: Rand, list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;

/** Numbers a producer could send: plain, tiny (exponent form), huge, negative, integral, long fractions. */
function number(rand: Rand): number {
  return pick(rand, [
    () => Math.round(rand() * 100_000) / 100,
    () => rand() * 1e-7,
    () => rand() * 1e25,
    () => -rand() * 50,
    () => Math.floor(rand() * 1e6),
    () => rand(),
    () => 0,
  ])();
}

const time = (rand: Rand) => NOW - Math.floor(rand() * 400 * 86_400_000);

/** A valid record of each dataset, in its contract's key order (as the producers write them). */
const VALID: Record<string, (rand: Rand) => Record<string, unknown>> = {
  prices: (rand) => {
    const source = pick(rand, ['binance', 'coingecko', 'coin-cap', 'kraken']);
    const symbol = pick(rand, ['BTC', 'ETH', 'SOL', 'PEPE', '1INCH']);
    const ts = time(rand);
    return {
      id: `${source}:${symbol}:${ts}`,
      ts,
      symbol,
      source,
      price_usd: Math.abs(number(rand)) || 0.5,
      volume_24h_usd: rand() < 0.3 ? null : Math.abs(number(rand)),
      market_cap_usd: rand() < 0.3 ? null : Math.abs(number(rand)),
      change_24h_pct: rand() < 0.3 ? null : number(rand),
      ingested_at: ts + 50,
    };
  },
  trades: (rand) => {
    const venue = pick(rand, ['binance', 'coinbase', 'kraken']);
    const market = pick(rand, ['BTCUSDT', 'BTC-USD', 'XBT/USD', 'ETH-EUR']);
    const tradeId = Math.floor(rand() * 1e12);
    const ts = time(rand);
    return {
      id: `${venue}:${market}:${tradeId}`,
      ts,
      symbol: pick(rand, ['BTC', 'ETH']),
      venue,
      market,
      price: Math.abs(number(rand)) || 1,
      qty: Math.abs(number(rand)) || 0.001,
      side: pick(rand, ['buy', 'sell']),
      trade_id: tradeId,
      via: pick(rand, ['stream', 'rest']),
      ingested_at: ts + 5,
    };
  },
  gaps: (rand) => {
    const first = Math.floor(rand() * 1e9);
    const from = time(rand);
    return {
      id: `binance:BTCUSDT:${first}`,
      venue: 'binance',
      market: 'BTCUSDT',
      symbol: 'BTC',
      first_trade_id: first,
      last_trade_id: first + 10,
      missing: 11,
      from_ts: from,
      to_ts: from + 1000,
      cause: pick(rand, ['reconnect', 'sequence', 'backpressure']),
      reason: pick(rand, ['HTTP 429', 'history does not go back that far', 'x']),
      detected_at: from + 2000,
    };
  },
  alerts: (rand) => {
    const ts = time(rand);
    return {
      id: `rule-1:${ts}`,
      ts,
      rule: 'rule-1',
      type: pick(rand, ['price_cross', 'move', 'zscore', 'divergence']),
      symbol: 'BTC',
      source: 'binance',
      value: number(rand),
      threshold: number(rand),
      message: 'BTC moved 5% in 10 minutes',
      raised_at: ts + 10,
    };
  },
  dead_letters: (rand) => ({
    at: time(rand),
    stage: pick(rand, ['scraper', 'processor']),
    source: 'prices/0/12',
    reason: 'price_usd: Too small',
    payload: pick(rand, ['{"a":1}', 'not json', '']),
  }),
};

/** Ways to change a record's text: each keeps or breaks the contract, and keeps or breaks the canonical form. */
const MUTATIONS: ((rand: Rand, record: Record<string, unknown>, text: string) => string)[] = [
  (_, __, text) => text,
  (rand, record) =>
    JSON.stringify({ ...record, [pick(rand, Object.keys(record))]: pick(rand, [null, '', 'x', 0, -1, 1.5, true, [], {}, '12']) }),
  (rand, record) =>
    JSON.stringify({ ...record, [pick(rand, Object.keys(record))]: pick(rand, [-0, 2 ** 53, 2 ** 53 + 2, 1e21, 1e-7, -1e-300, 1.7e308]) }),
  (rand, record) => {
    const key = pick(rand, Object.keys(record));
    const value = record[key];
    return JSON.stringify({
      ...record,
      [key]:
        typeof value === 'string'
          ? pick(rand, [value.toLowerCase(), `${value} `, `${value}é`, `${value}\u0000`, value.repeat(30), `${value}\n`, '"'])
          : value,
    });
  },
  (rand, record) => {
    const rest = { ...record };
    delete rest[pick(rand, Object.keys(record))];
    return JSON.stringify(rest);
  },
  (rand, record) => JSON.stringify({ ...record, extra: pick(rand, [1, 'x', null]) }),
  (rand, record) => JSON.stringify(Object.fromEntries(Object.entries(record).sort(() => rand() - 0.5))),
  (_, __, text) => text.replace('}', ',}').replace(/,}$/, ',}'),
  (_, __, text) => `${text.slice(0, -1)},"${text.slice(2, text.indexOf('"', 2))}":1}`,
  (rand, _, text) =>
    text.replace(
      /:(-?\d[\d.e+-]*)/,
      pick(rand, [':NaN', ':Infinity', ':-Infinity', ':1e400', ':-0', ':01', ':1.', ':.5', ':1e5', ':1E+2', ':-0.0']),
    ),
  (rand, _, text) => text.replace(/"([A-Za-z])/, pick(rand, ['"\\u0041', '"\\n$1', '"\\"$1', '"\\/$1'])),
  (_, __, text) => JSON.stringify(JSON.parse(text), null, 1),
  (_, __, text) => `\ufeff${text}`,
  (_, __, text) => ` ${text}`,
  (rand, _, text) => text.slice(0, Math.floor(rand() * text.length)),
  (rand, _, text) => {
    const at = Math.floor(rand() * text.length);
    return text.slice(0, at) + String.fromCharCode(Math.floor(rand() * 128)) + text.slice(at + 1);
  },
  (rand, record) => {
    const key = pick(rand, Object.keys(record));
    return JSON.stringify(record).replace(`"${key}":`, `"${key}":${JSON.stringify(record[key])},"${key}":`);
  },
  (rand, record) => {
    // Tokens JSON.stringify never writes, in a number field: parsers differ on the sign of `-0`.
    const key = pick(
      rand,
      Object.keys(record).filter((name) => typeof record[name] === 'number' || record[name] === null),
    );
    return JSON.stringify(record).replace(
      new RegExp(`"${key}":[^,}]+`),
      `"${key}":${pick(rand, ['-0', '-0.0', '-0e1', '0e0', '1E2', '2.50'])}`,
    );
  },
  (rand, record) =>
    JSON.stringify({ ...record, ts: pick(rand, [1, Date.UTC(2008, 0, 1), NOW + 2 * 86_400_000, NOW + 86_400_000, 1.5, -5]) }),
];

function corpus(dataset: IngestedDataset, seed: number, size: number): string[] {
  const rand = random(seed);
  const texts: string[] = [];
  for (let i = 0; i < size; i += 1) {
    const record = VALID[dataset.name]!(rand);
    texts.push(pick(rand, MUTATIONS)(rand, record, JSON.stringify(record)));
  }
  return texts;
}

const messageOf = (text: string, offset: number): BusMessage => ({
  key: '',
  value: encoder.encode(text),
  topic: 't',
  partition: 0,
  offset,
  timestamp: NOW,
});

describe('bulk validation', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  before(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
  });
  after(() => instance.closeSync());

  for (const dataset of [prices, trades, gaps, alerts, deadLetters]) {
    it(`gives zod's verdict and zod's values on every message of a fuzzed ${dataset.name} corpus`, async () => {
      const seed = 20261207 + dataset.name.length;
      const texts = corpus(dataset, seed, 6000);
      const reader = new BulkReader(dataset);
      const canonical: { value: Uint8Array; order: number }[] = [];
      texts.forEach((text, order) => {
        if (reader.accepts(encoder.encode(text))) canonical.push({ value: encoder.encode(text), order });
      });
      const invalid = new Set(await reader.read(connection, 'memory.fuzzed', canonical, NOW));
      const columns = dataset.columns.map(([name, type]) =>
        type === 'TIMESTAMP'
          ? `epoch_ms("${name}")::DOUBLE AS "${name}"`
          : type === 'BIGINT'
            ? `"${name}"::DOUBLE AS "${name}"`
            : `"${name}"`,
      );
      const rows = new Map(
        (await connection.runAndReadAll(`SELECT _order::DOUBLE AS _order, ${columns.join(', ')} FROM memory.fuzzed WHERE _valid`))
          .getRowObjectsJS()
          .map((row) => [Number(row._order), row]),
      );
      let accepted = 0;
      let rejected = 0;
      for (const { order } of canonical) {
        const exact = parseMessage(dataset, messageOf(texts[order]!, order), NOW);
        const where = `${dataset.name} message ${order} (seed ${seed}): ${texts[order]}`;
        assert.equal(
          !invalid.has(order),
          exact.ok,
          `the bulk verdict differs from zod's on ${where}${exact.ok ? '' : `: ${exact.reason}`}`,
        );
        if (!exact.ok) {
          rejected += 1;
          continue;
        }
        accepted += 1;
        const row = rows.get(order)!;
        for (const [name, type] of dataset.columns) {
          const parsed = (exact.row as Record<string, unknown>)[name];
          // A time or an integer has no negative zero in the lake: -0 and 0 are the same value there.
          const expected = type !== 'DOUBLE' && parsed === 0 ? 0 : parsed;
          assert.ok(
            Object.is(row[name], expected),
            `${name} is ${String(row[name])} in bulk and ${String(expected)} by JSON.parse on ${where}`,
          );
        }
      }
      assert.ok(accepted > 200 && rejected > 50, `the corpus exercises both verdicts (${accepted} valid, ${rejected} invalid in bulk)`);
    });
  }

  // Dead letters carry free text (a payload with quotes, a reason with escapes): they take the exact path.
  it('takes every record a producer writes (JSON.stringify of a valid record) on the bulk path', () => {
    for (const dataset of INGESTED.filter((d) => d !== deadLetters)) {
      const reader = new BulkReader(dataset);
      const rand = random(7);
      for (let i = 0; i < 500; i += 1) {
        const record = VALID[dataset.name]!(rand);
        const text = JSON.stringify(dataset.record.parse(record));
        assert.ok(reader.accepts(encoder.encode(text)), `${dataset.name}: ${text} does not pass the gate`);
      }
    }
  });

  it('refuses at start a contract it cannot decide exactly, naming the field', () => {
    const refinements = [
      z.object({ a: z.string().email() }),
      z.object({ a: z.number().multipleOf(5) }),
      z.object({ a: z.string().regex(/^\d+$/) }),
      z.object({ a: z.string().regex(/^[a-z]+$/i) }),
      z.object({ a: z.boolean() }),
      z.object({ a: z.array(z.string()) }),
    ];
    for (const schema of refinements) {
      assert.throws(() => recordShape(schema), /the bulk validation cannot decide .* in field a exactly as zod does/);
    }
  });
});

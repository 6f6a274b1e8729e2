import { z } from 'zod';
import { ProcessorStatus, ScraperStatus } from '../../core/records/status.ts';
import {
  CANDLE_INTERVALS,
  type Candle,
  type CandleInterval,
  type DeadLetterCount,
  type LatestPrice,
  type PartitionInfo,
} from '../queries.ts';
import type { Indicators } from '../indicators.ts';
import type { BrokenFile } from '../broken-files.ts';
import type { SqlResult } from '../sql-sandbox.ts';
import type { HealthReport } from './health.ts';
import type { PipelineReport, ProvidersReport } from './status.ts';

/**
 * The response bodies of the lake routes, as zod schemas: each route declares its body with one of
 * them, the OpenAPI document is generated from them, and `satisfies` keeps each equal to the type
 * the code returns. The exchange-trade bodies are in `trades.ts`, the alert row in `alerts.ts`.
 */
const num = z.number();
const nullableNum = z.number().nullable();
const ms = z.number().describe('epoch ms UTC');

/** Every error answer: one line saying what was wrong; for a bad parameter it starts with its name. */
export const ErrorBody = z
  .object({ error: z.string().describe('what was wrong; for a bad parameter it starts with its name, e.g. `symbol: ...`') })
  .meta({ id: 'Error' });

export const LatestPriceBody = z
  .object({
    symbol: z.string(),
    source: z.string(),
    priceUsd: num,
    change24hPct: nullableNum,
    volume24hUsd: nullableNum,
    marketCapUsd: nullableNum,
    ts: ms,
    ingestedAt: ms,
  })
  .meta({ id: 'LatestPrice' }) satisfies z.ZodType<LatestPrice>;

export const CandleBody = z
  .object({
    time: ms.describe('bucket start, epoch ms UTC'),
    open: num,
    high: num,
    low: num,
    close: num,
    count: z.number().int().describe('observations in the bucket, of every source it is made of'),
    volume24hUsd: nullableNum.describe("the providers' rolling 24h volume at the close (the median of the sources')"),
    sources: z.number().int().describe('sources whose candles the prices are the median of'),
  })
  .meta({ id: 'Candle' }) satisfies z.ZodType<Candle>;

/** What a candle series is made of. */
export const Basis = z
  .enum(['composite', 'source'])
  .describe("`composite`: per bucket, the median across sources of each source's candle; `source`: the one source asked for");

export const PartitionBody = z
  .object({
    date: z.string(),
    year: z.number().int(),
    month: z.number().int(),
    day: z.number().int(),
    files: z.number().int(),
    rows: z.number().int(),
    bytes: z.number().int(),
  })
  .meta({ id: 'Partition' }) satisfies z.ZodType<PartitionInfo>;

export const TotalsBody = z.object({ days: num, files: num, rows: num, bytes: num });

export const PartitionsBody = z.object({ totals: TotalsBody, partitions: z.array(PartitionBody) });

export const DeadLettersBody = z.object({
  reasons: z.array(z.object({ stage: z.string(), reason: z.string(), count: num, lastAt: ms }) satisfies z.ZodType<DeadLetterCount>),
});

export const IndicatorsBody = z.object({
  symbol: z.string(),
  basis: Basis,
  sources: z.array(z.string()),
  interval: z.enum(Object.keys(CANDLE_INTERVALS) as [CandleInterval, ...CandleInterval[]]),
  window: z.number().int(),
  at: ms,
  candles: z.number().int(),
  lastClose: nullableNum,
  sma: nullableNum,
  ema: nullableNum,
  volatility: nullableNum.describe('sample stdev of log returns of the closes'),
  change24hPct: nullableNum,
  spread: z
    .object({
      sources: z.array(z.object({ source: z.string(), priceUsd: num, ts: ms })),
      min: num,
      max: num,
      median: num,
      spreadPct: num.describe('(max - min) / median across providers in the latest minute, in percent'),
    })
    .nullable(),
}) satisfies z.ZodType<Indicators>;

const Health = z.object({ ok: z.boolean(), detail: z.string() }).meta({ id: 'Health' });

export const HealthBody = z.object({
  ok: z.boolean().describe('every part and check is up'),
  synthetic: z.boolean().describe('the prices are made up'),
  checkedAt: ms,
  parts: z.record(z.string(), Health).describe('lake (the catalog), files (every data file readable), bus, store, cache'),
  scraper: Health.extend({ status: ScraperStatus.nullable() }),
  processor: Health.extend({ status: ProcessorStatus.nullable() }),
}) satisfies z.ZodType<HealthReport>;

export const ProvidersBody = z.object({
  ok: z.boolean(),
  detail: z.string(),
  synthetic: z.boolean(),
  providers: ScraperStatus.shape.providers,
  recentFallbacks: ScraperStatus.shape.recentFallbacks,
  unserved: z.array(z.string()),
  lastPollAt: nullableNum,
}) satisfies z.ZodType<ProvidersReport>;

export const BrokenFileBody = z
  .object({
    table: z.string(),
    path: z.string().describe('relative to the lake data path, e.g. main/prices/year=2026/month=3/day=2/ducklake-<uuid>.parquet'),
    problem: z.string(),
    since: ms.describe('when lake-query first found it'),
    foundBy: z.enum(['query', 'check']).describe('`query`: a query failed on it; `check`: the file check found it missing or resized'),
  })
  .meta({ id: 'BrokenFile' }) satisfies z.ZodType<BrokenFile>;

export const PipelineBody = z.object({
  ok: z.boolean().describe('the processor reports no error and every data file can be read'),
  detail: z.string(),
  processor: ProcessorStatus.nullable(),
  lag: num.describe('messages the processor has yet to consume, all partitions'),
  lakeFreshnessMs: nullableNum.describe('age of the newest record in the lake; null when empty or unreadable'),
  live: z.object({ following: z.boolean(), clients: num, received: num, dropped: num, error: z.string().nullable() }),
  brokenFiles: z.array(BrokenFileBody).describe('data files that cannot be read: questions that need them answer 503'),
  totals: TotalsBody,
  days: z.array(PartitionBody),
}) satisfies z.ZodType<PipelineReport>;

/**
 * The answer of `POST /api/sql`. A cell is any JSON value: `z.json()` would say so, but it is
 * recursive and zod-to-openapi 9.1 recurses on it without end, so cells are `unknown` here.
 */
export const SqlResultBody = z.object({
  columns: z.array(z.object({ name: z.string(), type: z.string() })),
  rows: z.array(z.array(z.unknown())).describe('rows as arrays of JSON values, in column order'),
  rowCount: z.number().int(),
  truncated: z.boolean().describe('true when the query produced more than the rows returned'),
  truncatedBy: z.enum(['rows', 'bytes']).optional().describe('the cap that cut the rows: maxRows, or maxBytes of rows as JSON'),
  maxRows: z.number().int(),
  maxBytes: z.number().int(),
  elapsedMs: z.number(),
}) satisfies z.ZodType<Omit<SqlResult, 'rows'> & { rows: unknown[][] }>;

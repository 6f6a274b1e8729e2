import { z } from 'zod';
import type { DuckDBValue } from '@duckdb/node-api';
import type { LakeReader } from '../queries.ts';
import { candleParams } from './params.ts';

/** Query parameters of `GET /api/alerts`. */
export const alertParams = z.object({
  symbol: candleParams.shape.symbol.optional().describe('upper-case ticker, e.g. BTC; default: every symbol'),
  from: candleParams.shape.from.describe('ISO 8601 or epoch ms, inclusive, on the event time `ts`; default: no lower bound'),
  to: candleParams.shape.to.describe('ISO 8601 or epoch ms, exclusive; default: no upper bound'),
  limit: z.coerce
    .number({ error: 'expected a whole number from 1 to 1000' })
    .int('expected a whole number from 1 to 1000')
    .min(1, 'expected a whole number from 1 to 1000')
    .max(1_000, 'expected a whole number from 1 to 1000')
    .default(100)
    .describe('most alerts returned, newest first'),
});
export type AlertQuery = z.infer<typeof alertParams>;

/** One alert as the API answers it; times are epoch ms UTC. */
export const AlertRow = z.object({
  id: z.string(),
  ts: z.number().describe('event time of the price that fired it, epoch ms UTC'),
  rule: z.string(),
  type: z.string(),
  symbol: z.string(),
  source: z.string(),
  value: z.number(),
  threshold: z.number(),
  message: z.string(),
  raised_at: z.number().describe('when the evaluator raised it, epoch ms UTC'),
});
export type AlertRow = z.infer<typeof AlertRow>;

/** Alerts from the lake's `alerts` table, newest first (each id is in the lake once). */
export async function queryAlerts(lake: Pick<LakeReader, 'query'>, query: AlertQuery): Promise<AlertRow[]> {
  const where: string[] = [];
  const params: Record<string, DuckDBValue> = { limit: query.limit };
  if (query.symbol) {
    where.push('symbol = $symbol');
    params.symbol = query.symbol;
  }
  if (query.from !== undefined) {
    where.push('ts >= epoch_ms($fromMs::BIGINT)');
    params.fromMs = query.from;
  }
  if (query.to !== undefined) {
    where.push('ts < epoch_ms($toMs::BIGINT)');
    params.toMs = query.to;
  }
  const rows = await lake.query(
    'the alert list',
    `SELECT id, epoch_ms(ts)::DOUBLE AS ts, rule, type, symbol, source, value, threshold, message,
            epoch_ms(raised_at)::DOUBLE AS raised_at
       FROM alerts
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ts DESC, id
      LIMIT $limit`,
    params,
  );
  return rows.map((row) => AlertRow.parse(row));
}

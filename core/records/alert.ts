import { z } from 'zod';

/**
 * An alert raised on the price stream: the contract between the alert evaluator, the `alerts`
 * topic and dataset, the API and the dashboard. The id is deterministic (rule, symbol, source and
 * the event time of the record that fired it), so an alert raised again after a crash is the same
 * alert and is stored and delivered once.
 */
export const Alert = z.object({
  id: z.string().min(1),
  /** event time of the record that fired it, epoch ms UTC */
  ts: z.number().int(),
  rule: z.string(),
  type: z.enum(['price_cross', 'move', 'zscore', 'divergence']),
  symbol: z.string(),
  source: z.string(),
  /** the measured value: the price, the move in %, the z-score, or the deviation in % */
  value: z.number(),
  /** the configured limit it passed */
  threshold: z.number(),
  message: z.string(),
  /** when the evaluator raised it, epoch ms UTC */
  raised_at: z.number().int(),
});
export type Alert = z.infer<typeof Alert>;

/** The deterministic id of an alert. */
export function alertId(rule: string, symbol: string, source: string, ts: number): string {
  return `${rule}:${symbol}:${source}:${ts}`;
}

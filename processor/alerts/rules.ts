import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describeIssues } from '../../core/records/validator.ts';
import { LakeError } from '../../core/errors.ts';

const ruleId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a lower-case id such as btc-100k');
const symbols = z
  .array(z.string().regex(/^[A-Z0-9]{1,20}$/, 'expected upper-case tickers'))
  .min(1)
  .optional()
  .describe('symbols the rule watches; all when absent');
const cooldownMs = z
  .number()
  .int()
  .nonnegative()
  .default(15 * 60_000)
  .describe('after firing, the rule stays quiet for this long per symbol and source, ms (event time)');
const source = z
  .string()
  .min(1)
  .optional()
  .describe("one source's prices alone, e.g. binance; absent: the composite, the median across the symbol's sources, as the candles");

/** Price crosses a level, upwards, downwards or both. */
const PriceCross = z.object({
  id: ruleId,
  type: z.literal('price_cross'),
  symbols,
  source,
  level: z.number().positive(),
  direction: z.enum(['above', 'below', 'both']).default('both'),
  cooldownMs,
});

/** The price moved more than `pct` % from the first price within the last `windowMs`. */
const Move = z.object({
  id: ruleId,
  type: z.literal('move'),
  symbols,
  source,
  pct: z.number().positive(),
  windowMs: z.number().int().positive(),
  cooldownMs,
});

/** A log return more than `threshold` standard deviations from the mean of the previous `window` returns. */
const ZScore = z.object({
  id: ruleId,
  type: z.literal('zscore'),
  symbols,
  source,
  window: z.number().int().min(10),
  threshold: z.number().positive(),
  cooldownMs,
});

/** One source's price more than `pct` % from the median of the other sources in the same minute. */
const Divergence = z.object({
  id: ruleId,
  type: z.literal('divergence'),
  symbols,
  pct: z.number().positive(),
  /** other sources needed in the minute before the median means anything */
  minOthers: z.number().int().min(1).default(2),
  cooldownMs,
});

export const AlertRule = z.discriminatedUnion('type', [PriceCross, Move, ZScore, Divergence]);
export type AlertRule = z.infer<typeof AlertRule>;
export type RuleOf<T extends AlertRule['type']> = Extract<AlertRule, { type: T }>;
/** The rules that compare a price with its own series' past (all but divergence). */
export type SeriesRule = Exclude<AlertRule, { type: 'divergence' }>;

export const AlertRules = z.array(AlertRule).superRefine((rules, ctx) => {
  const seen = new Set<string>();
  rules.forEach((rule, index) => {
    if (seen.has(rule.id)) ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicate rule id ${rule.id}` });
    seen.add(rule.id);
  });
});

/**
 * Reads the alert rules: `ALERT_RULES` (a JSON array) or `ALERT_RULES_FILE` (a JSON file holding
 * one). No rules is valid (no alerts). A bad rule stops the start with one line naming it:
 * `ALERT_RULES_FILE rules.json: 1.pct: Too small: expected number to be >0`.
 */
export function loadAlertRules(env: Record<string, string | undefined>): AlertRule[] {
  const inline = env.ALERT_RULES;
  const file = env.ALERT_RULES_FILE;
  if (!inline && !file) return [];
  const where = inline ? 'ALERT_RULES' : `ALERT_RULES_FILE ${file}`;
  let json: unknown;
  try {
    json = JSON.parse(inline ?? readFileSync(file!, 'utf8'));
  } catch (cause) {
    throw new LakeError('CONFIG_INVALID', `Invalid configuration: ${where}: ${(cause as Error).message}`, { cause });
  }
  const parsed = AlertRules.safeParse(json);
  if (!parsed.success) throw new LakeError('CONFIG_INVALID', `Invalid configuration: ${where}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

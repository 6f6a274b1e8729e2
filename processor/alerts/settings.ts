import { z } from 'zod';
import { positiveInt } from '../../core/config.ts';

/**
 * The alerter's settings, part of the processor's configuration. The rules themselves are read
 * by `loadAlertRules` (rules.ts), which names the bad rule and field; they are listed here so the
 * configuration table documents them.
 */
export const alertSettingsSchema = z.object({
  alertRules: z
    .string()
    .optional()
    .describe('Alert rules as a JSON array (see processor/alerts/rules.ts). Unset (and no ALERT_RULES_FILE): the alerter does not run.'),
  alertRulesFile: z.string().optional().describe('A JSON file holding the alert rules, read when ALERT_RULES is unset.'),
  alertWebhookUrl: z
    .string()
    .url({ error: 'expected an http(s) URL' })
    .optional()
    .describe('URL each alert is POSTed to as JSON, once per alert id. Unset: no webhook.'),
  alertWebhookSecret: z
    .string()
    .optional()
    .describe(
      'Key of the `X-Cryptolake-Signature: sha256=<hex HMAC-SHA256 of the body>` header of webhook calls. Unset: calls are not signed.',
    ),
  alertWebhookRetries: z.coerce
    .number({ error: 'expected a number' })
    .int()
    .min(0)
    .default(5)
    .describe('Retries of a failed webhook call (network error, 429, 5xx), with jittered backoff. Default 5.'),
  alertWebhookTimeoutMs: positiveInt().default(5_000).describe('Time one webhook call may take, in ms. Default 5000.'),
  alertWebhookMaxQueued: positiveInt()
    .default(1_000)
    .describe(
      'Alerts waiting for the webhook; past it new alerts are dropped (counted and logged), never holding back evaluation. Default 1000.',
    ),
});
export type AlertSettings = z.infer<typeof alertSettingsSchema>;

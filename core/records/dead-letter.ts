import { z } from 'zod';

/**
 * A record that could not enter the lake, kept with why and where it came from.
 * `payload` is the raw text as received (a provider body fragment or a bus message),
 * cut to `MAX_PAYLOAD_CHARS` so one huge bad input cannot exhaust memory.
 */
export const DeadLetter = z.object({
  at: z.number().int().describe('when it was rejected, epoch ms UTC'),
  stage: z.enum(['scraper', 'processor']),
  source: z.string().describe('provider name, or topic/partition/offset on the bus'),
  reason: z.string(),
  payload: z.string(),
});
export type DeadLetter = z.infer<typeof DeadLetter>;

export const MAX_PAYLOAD_CHARS = 16_384;

/** Builds a dead letter, serialising and truncating the payload. */
export function deadLetter(fields: Omit<DeadLetter, 'payload'> & { payload: unknown }): DeadLetter {
  const text = typeof fields.payload === 'string' ? fields.payload : safeStringify(fields.payload);
  return { ...fields, payload: text.length > MAX_PAYLOAD_CHARS ? `${text.slice(0, MAX_PAYLOAD_CHARS)}…` : text };
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

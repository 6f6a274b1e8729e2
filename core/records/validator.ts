import type { z } from 'zod';

/** The outcome of validating a record: the parsed value, or one line saying what is wrong. */
export type Validated<T> = { ok: true; value: T } | { ok: false; reason: string };

/** `price_usd: Too small: expected number to be >0; ts: ...` */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`)
    .join('; ');
}

/** An id made of parts: joined by `:`, numbers as JavaScript writes them. */
export function joinId(parts: readonly (string | number)[]): string {
  return parts.join(':');
}

/**
 * The validation of a record contract: the zod schema, then, when the record has an id made of
 * some of its fields (`idParts`, joined by `:`), that its `id` is made of them. Never throws; a
 * failure says which field and why, in one line. The processor's bulk validation compiles the same
 * two rules to SQL, so a contract has no rule beyond these.
 */
export function recordValidator<Row>(
  schema: z.ZodType<Row>,
  idParts?: readonly (keyof Row & string)[],
): (input: unknown) => Validated<Row> {
  const mismatch = idParts && `id: does not match ${idParts.slice(0, -1).join(', ')} and ${idParts.at(-1)!}`;
  return (input) => {
    const parsed = schema.safeParse(input);
    if (!parsed.success) return { ok: false, reason: describeIssues(parsed.error) };
    const record = parsed.data as Record<string, unknown>;
    if (idParts && mismatch && record.id !== joinId(idParts.map((part) => record[part] as string | number)))
      return { ok: false, reason: mismatch };
    return { ok: true, value: parsed.data };
  };
}

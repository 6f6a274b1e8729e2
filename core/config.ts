import { z } from 'zod';
import { LakeError } from './errors.ts';

/**
 * Configuration comes from the environment. Each part declares a zod object whose keys are
 * camelCase with units (`pollIntervalMs`); the variable that sets a key is its SCREAMING_SNAKE
 * form (`POLL_INTERVAL_MS`). Every field carries `.describe()` text; the README's table is
 * generated from the same schemas (`npm run docs:config`), so the docs cannot drift.
 */
export type ConfigShape = z.ZodRawShape;

/** `pollIntervalMs` -> `POLL_INTERVAL_MS`, `s3Bucket` -> `S3_BUCKET`. */
export function envName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/**
 * Reads and validates the keys of `schema` from `env`. An empty variable counts as unset.
 * Throws a `CONFIG_INVALID` error whose message is one line naming the variable, the value
 * and what was expected.
 */
export function loadConfig<S extends ConfigShape>(
  schema: z.ZodObject<S>,
  env: Record<string, string | undefined> = process.env,
): z.infer<z.ZodObject<S>> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[envName(key)];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = String(issue.path[0] ?? '');
  const name = key ? envName(key) : 'configuration';
  const value = key in input ? `="${input[key]}"` : ' (unset)';
  throw new LakeError('CONFIG_INVALID', `Invalid configuration: ${name}${value}: ${issue.message}`);
}

/** A comma-separated list of non-empty, trimmed items. */
export function csvList(item: z.ZodType<string, string> = z.string().min(1)) {
  return z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    )
    .pipe(z.array(item).min(1, 'expected at least one item in the comma-separated list'));
}

/** A whole, positive number such as a duration in ms or a count; accepts it as a string. */
export function positiveInt() {
  return z.coerce.number({ error: 'expected a number' }).int('expected a whole number').positive('expected a number above 0');
}

/** `true/false/1/0/yes/no` as a boolean. */
export function booleanFlag() {
  return z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .transform((value) => value === 'true' || value === '1' || value === 'yes');
}

/** One row of the generated configuration table. */
export interface ConfigDoc {
  variable: string;
  description: string;
  defaultValue: string;
}

/** The documentation rows of a config schema: variable, description, default. */
export function describeConfig(schema: z.ZodObject<ConfigShape>): ConfigDoc[] {
  return Object.entries(schema.shape).map(([key, field]) => {
    const type = field as z.ZodType;
    const def = (type as unknown as { def: { type: string; defaultValue?: unknown } }).def;
    const defaultValue = def.type === 'default' ? formatDefault(def.defaultValue) : '';
    return { variable: envName(key), description: type.description ?? '', defaultValue };
  });
}

/** A default as a person would type it in the environment: lists comma-joined, strings bare. */
function formatDefault(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

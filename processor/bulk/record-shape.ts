import type { z } from 'zod';
import { LakeError } from '../../core/errors.ts';

/**
 * A record contract read as data: the fields of a zod object schema with the JSON type each takes
 * and the rules zod checks on it. The bulk validation compiles this twice, into a byte-level gate
 * (`canonical-gate.ts`) and into SQL (`contract-sql.ts`), so both decide what zod decides.
 * Only what the gate and the SQL can decide exactly is read; anything else (a refinement, a
 * transform, a format such as `email`, a regex with flags or escapes) throws at start, naming the
 * field: a contract the bulk path cannot honour must not be approximated.
 */
export interface RecordShape {
  fields: FieldRule[];
}

/** One field of a record and what zod requires of it. */
export interface FieldRule {
  name: string;
  /** The JSON type of the value: a string (also an enum) or a number. */
  json: 'string' | 'number';
  /** Whether `null` is allowed (zod `.nullable()`). */
  nullable: boolean;
  checks: FieldCheck[];
}

/**
 * A rule on one value. Numbers are finite in zod 4 without a check, so `finite` is implied.
 * `pattern` is a regex source over ASCII (the gate lets only printable ASCII strings through).
 */
export type FieldCheck =
  | { kind: 'safeInteger' }
  | { kind: 'greaterThan'; value: number; inclusive: boolean }
  | { kind: 'lessThan'; value: number; inclusive: boolean }
  | { kind: 'minLength'; value: number }
  | { kind: 'maxLength'; value: number }
  | { kind: 'pattern'; source: string }
  | { kind: 'oneOf'; values: string[] };

interface Def {
  type: string;
  innerType?: { _zod: { def: Def } };
  entries?: Record<string, string | number>;
  checks?: { _zod: { def: CheckDef } }[];
  shape?: Record<string, { _zod: { def: Def } }>;
  catchall?: unknown;
}

interface CheckDef {
  check: string;
  format?: string;
  value?: number | bigint;
  inclusive?: boolean;
  minimum?: number;
  maximum?: number;
  length?: number;
  pattern?: RegExp;
}

// Patterns whose meaning is the same in JavaScript and RE2 on printable ASCII: anchors, classes,
// ranges, groups, alternation and counted repeats of plain characters; no escapes, no lookaround.
const PORTABLE_PATTERN = /^[\^$[\]A-Za-z0-9{},|()*+?_:.\- ]*$/;

/** Reads `schema` (a zod 4 object) into its fields; throws `CONFIG_INVALID` on what it cannot decide exactly. */
export function recordShape(schema: z.ZodType): RecordShape {
  const def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  if (def.type !== 'object' || !def.shape) throw unsupported('(record)', `a ${def.type}, not an object`);
  if (def.catchall !== undefined) throw unsupported('(record)', 'an object with a catchall');
  return { fields: Object.entries(def.shape).map(([name, field]) => fieldRule(name, field._zod.def)) };
}

function fieldRule(name: string, outer: Def): FieldRule {
  const nullable = outer.type === 'nullable';
  const def = nullable ? outer.innerType!._zod.def : outer;
  if (def.type === 'enum') {
    const values = Object.values(def.entries ?? {});
    if (!values.every((value): value is string => typeof value === 'string')) throw unsupported(name, 'an enum of numbers');
    return { name, json: 'string', nullable, checks: [{ kind: 'oneOf', values }] };
  }
  if (def.type !== 'string' && def.type !== 'number') throw unsupported(name, `a ${def.type}`);
  return { name, json: def.type, nullable, checks: (def.checks ?? []).flatMap((check) => fieldChecks(name, check._zod.def)) };
}

function fieldChecks(name: string, check: CheckDef): FieldCheck[] {
  switch (check.check) {
    case 'number_format':
      if (check.format === 'safeint') return [{ kind: 'safeInteger' }];
      break;
    case 'greater_than':
      return [{ kind: 'greaterThan', value: Number(check.value), inclusive: check.inclusive === true }];
    case 'less_than':
      return [{ kind: 'lessThan', value: Number(check.value), inclusive: check.inclusive === true }];
    case 'min_length':
      return [{ kind: 'minLength', value: check.minimum! }];
    case 'max_length':
      return [{ kind: 'maxLength', value: check.maximum! }];
    case 'length_equals':
      return [
        { kind: 'minLength', value: check.length! },
        { kind: 'maxLength', value: check.length! },
      ];
    case 'string_format':
      if (check.format === 'regex' && check.pattern && check.pattern.flags === '' && PORTABLE_PATTERN.test(check.pattern.source)) {
        return [{ kind: 'pattern', source: check.pattern.source }];
      }
      break;
  }
  throw unsupported(
    name,
    `the check ${check.check}${check.format ? ` (${check.format})` : ''}${check.pattern ? ` /${check.pattern.source}/` : ''}`,
  );
}

function unsupported(field: string, what: string): LakeError {
  return new LakeError('CONFIG_INVALID', `the bulk validation cannot decide ${what} in field ${field} exactly as zod does`);
}

/**
 * The command-line flags of cryptolake's commands (`npm run backfill`, `npm run sql`, `compact`,
 * ...), declared once as a spec that gives the parsing, the checks and the `--help` text:
 *
 * ```ts
 * const BACKFILL = {
 *   name: 'backfill',
 *   usage: 'npm run backfill -- [options] <file>...',
 *   description: 'Imports history files into the lake.',
 *   flags: { source: { type: 'string', value: 'NAME', description: 'the records\' source' } },
 *   operands: [{ name: 'file', description: 'a history file', many: true }],
 * } satisfies CommandSpec;
 * const { flags, operands } = readCommand(BACKFILL); // flags.source: string | undefined
 * ```
 *
 * `readCommand` is for a command's first line: `--help`/`-h` prints the usage and exits 0; an
 * unknown flag or a bad value prints one line (`backfill: unknown option --foo (see --help)`) to
 * stderr and exits 2, before anything is opened and without a log or stack trace. `parseCommand`
 * is the same reading without the exits, for tests. Settings stay environment variables
 * (`core/config.ts`); flags are for what one run does.
 */
import { writeSync } from 'node:fs';

/**
 * One flag of a command, named by its key in `CommandSpec.flags` (`'target-bytes'` is
 * `--target-bytes`). `boolean` flags take no value; `string` and `integer` flags take one
 * (`--day 2026-11-22` or `--day=2026-11-22`), checked against `choices`, `pattern` or `min`.
 */
export type FlagSpec =
  | { type: 'boolean'; description: string; short?: string }
  | {
      type: 'string';
      description: string;
      default?: string;
      short?: string;
      /** The value's name in the usage text. Default: the flag's name in capitals. */
      value?: string;
      choices?: readonly string[];
      /** A pattern the whole value must match, and what it means (`YYYY-MM-DD`). */
      pattern?: { regex: RegExp; expected: string };
    }
  | { type: 'integer'; description: string; default?: number; short?: string; value?: string; min?: number };

/** An argument that is not a flag (a file to import), in the order they come. */
export interface OperandSpec {
  name: string;
  description: string;
  /** Takes every remaining argument (one or more, or none when `optional`). */
  many?: boolean;
  optional?: boolean;
  /** What is wrong with one value (`no such file`), or `undefined` when it is fine. */
  check?: (value: string) => string | undefined;
}

/** What a command is: the spec its usage text, its parsing and its checks all come from. */
export interface CommandSpec<F extends Record<string, FlagSpec> = Record<string, FlagSpec>> {
  /** The command's name, the first word of every message: `backfill: unknown option --foo (see --help)`. */
  name: string;
  /** How it is run: `npm run backfill -- [options] <file>...`. */
  usage: string;
  /** What it does, in a few sentences. */
  description: string;
  flags: F;
  operands?: readonly OperandSpec[];
  /**
   * Where arguments that are not its own flags go (`the DuckDB CLI`): they are handed on in order as
   * `rest` instead of being refused. For commands that wrap another program.
   */
  passThrough?: string;
  /** Printed after the options: examples, environment variables. */
  notes?: string;
}

type ValueOf<S extends FlagSpec> = S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'integer' }
    ? S extends { default: number }
      ? number
      : number | undefined
    : S extends { default: string }
      ? string
      : string | undefined;

/** The flags' values by name: booleans `false` when absent, others their default or `undefined`. */
export type FlagValues<F extends Record<string, FlagSpec>> = { -readonly [K in keyof F]: ValueOf<F[K]> };

/** A command line read against its spec. */
export interface CommandLine<F extends Record<string, FlagSpec>> {
  flags: FlagValues<F>;
  /** The operands, in order. */
  operands: string[];
  /** With `passThrough`: every argument that was not the command's own, in order. */
  rest: string[];
}

/** What reading a command line came to: the values, the help text asked for, or the one-line problem. */
export type Reading<F extends Record<string, FlagSpec>> = { ok: CommandLine<F> } | { help: string } | { problem: string };

const HELP: FlagSpec = { type: 'boolean', short: 'h', description: 'show this help and exit' };

/** The usage text of `spec`: usage line, description, arguments, options (with defaults), notes. */
export function commandUsage(spec: CommandSpec): string {
  const rows = (items: [string, string][]) => {
    const width = Math.max(...items.map(([left]) => left.length)) + 2;
    return items.map(([left, right]) => `  ${left.padEnd(width)}${right}`).join('\n');
  };
  const flags = Object.entries({ ...spec.flags, help: HELP }).map(([name, flag]): [string, string] => {
    const value = flag.type === 'boolean' ? '' : ` ${flag.value ?? name.toUpperCase().replaceAll('-', '_')}`;
    const names = `${flag.short ? `-${flag.short}, ` : ''}--${name}${value}`;
    const choices = flag.type === 'string' && flag.choices ? ` (one of ${flag.choices.join(', ')})` : '';
    const fallback = flag.type !== 'boolean' && flag.default !== undefined ? ` (default: ${flag.default})` : '';
    return [names, `${flag.description}${choices}${fallback}`];
  });
  const sections = [`Usage: ${spec.usage}`, spec.description];
  if (spec.operands?.length) sections.push(`Arguments:\n${rows(spec.operands.map((operand) => [label(operand), operand.description]))}`);
  sections.push(`Options:\n${rows(flags)}`);
  if (spec.passThrough) sections.push(`Other arguments go, in order, to ${spec.passThrough}.`);
  if (spec.notes) sections.push(spec.notes);
  return `${sections.join('\n\n')}\n`;
}

/**
 * Reads `argv` (the arguments after the command) against `spec`, without side effects: `--help`
 * or `-h` gives the usage text; an unknown flag (unless `passThrough`), a missing or bad value, or
 * missing or extra operands give one line naming the problem; otherwise the values. Flags are
 * `--name value`, `--name=value` or `-x value` (one letter, no groups, so another program's
 * `-header` passes through whole); `--` ends the flags: what follows is operands (or `rest`).
 */
export function parseCommand<const F extends Record<string, FlagSpec>>(spec: CommandSpec<F>, argv: readonly string[]): Reading<F> {
  const flags: Record<string, unknown> = {};
  const operands: string[] = [];
  const rest: string[] = [];
  const problem = (text: string) => ({ problem: `${spec.name}: ${text} (see --help)` });
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      (spec.passThrough ? rest : operands).push(...argv.slice(i + 1));
      break;
    }
    const found = flagOf(spec, arg);
    if (!found) {
      if (spec.passThrough) rest.push(arg);
      else if (arg.startsWith('-') && arg !== '-') return problem(`unknown option ${arg.split('=')[0]}`);
      else operands.push(arg);
      continue;
    }
    const { name, flag, written, inline } = found;
    if (name === 'help') return { help: commandUsage(spec) };
    if (flag.type === 'boolean') {
      if (inline !== undefined) return problem(`option ${written} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) return problem(`option ${written} needs a value`);
    const checked = checkValue(flag, value);
    if (typeof checked === 'string') return problem(`option ${written}: "${value}" ${checked}`);
    flags[name] = checked.value;
  }
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (!(name in flags)) flags[name] = flag.type === 'boolean' ? false : flag.default;
  }
  const wrong = spec.passThrough ? undefined : checkOperands(spec.operands ?? [], operands);
  if (wrong) return problem(wrong);
  return { ok: { flags: flags as FlagValues<F>, operands, rest } };
}

/**
 * The command line of this process read against `spec`, for a command's first line. On `--help`
 * it prints the usage text to stdout and exits 0; on a problem it prints the one line to stderr
 * (`backfill: unknown option --foo (see --help)`) and exits 2, with no stack trace and no log.
 */
export function readCommand<const F extends Record<string, FlagSpec>>(
  spec: CommandSpec<F>,
  argv: readonly string[] = process.argv.slice(2),
): CommandLine<F> {
  const reading = parseCommand(spec, argv);
  if ('ok' in reading) return reading.ok;
  // Written synchronously: process.exit must not cut the text short on a pipe.
  if ('help' in reading) writeSync(process.stdout.fd, reading.help);
  else writeSync(process.stderr.fd, `${reading.problem}\n`);
  process.exit('help' in reading ? 0 : 2);
}

function label(operand: OperandSpec): string {
  const name = `<${operand.name}>${operand.many ? '...' : ''}`;
  return operand.optional ? `[${name}]` : name;
}

function checkValue(flag: Exclude<FlagSpec, { type: 'boolean' }>, value: string): { value: string | number } | string {
  if (flag.type === 'integer') {
    const number = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(number)) return 'is not a whole number';
    if (flag.min !== undefined && number < flag.min) return `is below ${flag.min}`;
    return { value: number };
  }
  if (flag.choices && !flag.choices.includes(value)) return `is not one of ${flag.choices.join(', ')}`;
  if (flag.pattern && !flag.pattern.regex.test(value)) return `is not ${flag.pattern.expected}`;
  return { value };
}

/** The flag `arg` names (`--name`, `--name=value`, `-x`), with how it was written and its inline value. */
function flagOf(spec: CommandSpec, arg: string): { name: string; flag: FlagSpec; written: string; inline?: string } | undefined {
  const all: Record<string, FlagSpec> = { ...spec.flags, help: HELP };
  const long = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
  if (long) {
    const [, name = '', inline] = long;
    const flag = Object.hasOwn(all, name) ? all[name] : undefined;
    return flag && { name, flag, written: `--${name}`, ...(inline !== undefined ? { inline } : {}) };
  }
  const short = Object.entries(all).find(([, flag]) => flag.short !== undefined && arg === `-${flag.short}`);
  return short && { name: short[0], flag: short[1], written: arg };
}

function checkOperands(specs: readonly OperandSpec[], operands: string[]): string | undefined {
  const required = specs.filter((operand) => !operand.optional).length;
  if (operands.length < required) return `missing ${label(specs[operands.length] as OperandSpec)}`;
  if (specs.at(-1)?.many !== true && operands.length > specs.length) return `unexpected argument "${operands[specs.length]}"`;
  for (const [index, value] of operands.entries()) {
    const operand = specs[Math.min(index, specs.length - 1)] as OperandSpec;
    const wrong = operand.check?.(value);
    if (wrong) return `<${operand.name}> "${value}": ${wrong}`;
  }
  return undefined;
}

import type { RecordShape } from './record-shape.ts';

/**
 * Whether the bytes of a message are the canonical JSON text of a record: what `JSON.stringify`
 * writes for an object with exactly the shape's fields, in the shape's order, each once, each of
 * its JSON type (or `null` where allowed), with no whitespace; strings of printable ASCII without
 * escapes; numbers in JSON's grammar with at most two exponent digits (no overflow, no
 * underflow). For such text every JSON parser reads the same values, so DuckDB's reading equals
 * `JSON.parse`'s, and what zod would say follows from the values alone. Everything else (another
 * key order, a missing or extra key, escapes, non-ASCII, a trailing comma, `NaN`) is not refused
 * here: it takes the exact path (`JSON.parse` and zod).
 */
export type CanonicalGate = (bytes: Uint8Array) => boolean;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const CLOSE = 0x7d;
const NULL = new Uint8Array([0x6e, 0x75, 0x6c, 0x6c]);

interface Step {
  /** `{"name":` for the first field, `,"name":` for the others. */
  prefix: Uint8Array;
  json: 'string' | 'number';
  nullable: boolean;
}

/** Compiles the gate of a record shape. */
export function canonicalGate(shape: RecordShape): CanonicalGate {
  const encoder = new TextEncoder();
  const steps: Step[] = shape.fields.map((field, i) => ({
    prefix: encoder.encode(`${i === 0 ? '{' : ','}${JSON.stringify(field.name)}:`),
    json: field.json,
    nullable: field.nullable,
  }));
  return (bytes) => {
    let at = 0;
    for (const step of steps) {
      if (!startsWith(bytes, at, step.prefix)) return false;
      at += step.prefix.length;
      if (step.nullable && startsWith(bytes, at, NULL)) {
        at += NULL.length;
        continue;
      }
      at = step.json === 'string' ? afterString(bytes, at) : afterNumber(bytes, at);
      if (at < 0) return false;
    }
    return at === bytes.length - 1 && bytes[at] === CLOSE;
  };
}

function startsWith(bytes: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i += 1) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

/** The index after a string of printable ASCII without escapes starting at `at`, or -1. */
function afterString(bytes: Uint8Array, at: number): number {
  if (bytes[at] !== QUOTE) return -1;
  for (let i = at + 1; i < bytes.length; i += 1) {
    const byte = bytes[i]!;
    if (byte === QUOTE) return i + 1;
    if (byte < 0x20 || byte > 0x7e || byte === BACKSLASH) return -1;
  }
  return -1;
}

/** The index after a JSON number starting at `at` (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]{1,2})?`), or -1. */
function afterNumber(bytes: Uint8Array, at: number): number {
  let i = at;
  if (bytes[i] === MINUS) i += 1;
  if (bytes[i] === ZERO) i += 1;
  else if (isDigit(bytes[i])) while (isDigit(bytes[i])) i += 1;
  else return -1;
  if (bytes[i] === DOT) {
    i += 1;
    if (!isDigit(bytes[i])) return -1;
    while (isDigit(bytes[i])) i += 1;
  }
  if (bytes[i] === 0x65 || bytes[i] === 0x45) {
    i += 1;
    if (bytes[i] === PLUS || bytes[i] === MINUS) i += 1;
    const digits = i;
    while (isDigit(bytes[i])) i += 1;
    if (i === digits || i - digits > 2) return -1;
  }
  // A bound keeps every token far from overflow and underflow; a negative integer zero (`-0`)
  // is left to the exact path, as parsers differ on its sign.
  if (i - at > 40 || (bytes[at] === MINUS && bytes[at + 1] === ZERO && bytes[at + 2] !== DOT)) return -1;
  return i;
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= ZERO && byte <= NINE;
}

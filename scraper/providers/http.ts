import { z } from 'zod';
import { LakeError, type ErrorCode } from '../../core/errors.ts';
import type { PriceObservation } from '../../core/records/price.ts';
import { describeIssues } from '../../core/records/validator.ts';
import type { ProviderResult } from '../../core/ports/provider.ts';

/** What a `ProviderHttpError` may carry besides its code and message. */
export interface ProviderHttpErrorOptions {
  status?: number;
  retryAfterMs?: number;
  retryable?: boolean;
  cause?: unknown;
  payload?: unknown;
  unlisted?: string[];
}

/** A provider failure that came with an HTTP answer: its status and, for 429/418, how long to back off. */
export class ProviderHttpError extends LakeError {
  readonly status: number | undefined;
  /** The server's `Retry-After`, in ms, when it sent one. */
  readonly retryAfterMs: number | undefined;
  /**
   * The body as received: for PROVIDER_RESPONSE_INVALID the text or parsed JSON, for the dead-letter
   * path; for an HTTP error status the text, for providers that read their documented error bodies.
   */
  readonly payload: unknown;
  /**
   * Set when the provider refused the whole request because it does not list some symbol of it:
   * the symbols it named, or `[]` when it did not say which (Binance -1121, Kraken `EQuery:Unknown
   * asset pair`). The guard then asks again without them (`unlisted-symbols.ts`).
   */
  readonly unlisted: string[] | undefined;

  constructor(code: ErrorCode, message: string, options: ProviderHttpErrorOptions = {}) {
    super(code, message, options);
    this.name = 'ProviderHttpError';
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.payload = options.payload;
    this.unlisted = options.unlisted;
  }
}

/** The body of an HTTP `status` error parsed with `schema` (a provider's documented error body), or `undefined`. */
export function errorBody<T>(error: unknown, status: number, schema: z.ZodType<T>): T | undefined {
  if (!(error instanceof ProviderHttpError) || error.status !== status || typeof error.payload !== 'string') return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(error.payload));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** True when `error` is a provider's refusal of a request for naming a symbol it does not list. */
export function isUnlistedRefusal(error: unknown): error is ProviderHttpError & { unlisted: string[] } {
  return error instanceof ProviderHttpError && error.unlisted !== undefined;
}

/** One GET to a provider. */
export interface JsonRequest {
  provider: string;
  url: URL;
  headers?: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
}

const SNIPPET_CHARS = 200;

/**
 * GETs `url` and parses the body as JSON. The timeout covers headers and body. Throws a
 * `ProviderHttpError`: PROVIDER_RATE_LIMITED (429, with Retry-After), PROVIDER_BANNED (418),
 * PROVIDER_HTTP (retryable for 5xx only), PROVIDER_TIMEOUT, PROVIDER_NETWORK, or
 * PROVIDER_RESPONSE_INVALID when the body is not JSON. Never puts query strings (which may hold
 * keys) into messages.
 */
export async function getJson(request: JsonRequest): Promise<unknown> {
  const { provider, url, timeoutMs } = request;
  const what = `${provider} GET ${url.pathname}`;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([request.signal, timeout]);
  let text: string;
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json', ...request.headers }, signal });
    text = await response.text();
  } catch (error) {
    if (timeout.aborted) throw new ProviderHttpError('PROVIDER_TIMEOUT', `${what}: no answer within ${timeoutMs} ms`, { cause: error });
    if (request.signal.aborted)
      throw new ProviderHttpError('PROVIDER_NETWORK', `${what}: aborted by the caller`, { cause: error, retryable: false });
    throw new ProviderHttpError('PROVIDER_NETWORK', `${what}: ${networkReason(error)}`, { cause: error });
  }
  if (!response.ok) throw httpError(what, response, text);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ProviderHttpError('PROVIDER_RESPONSE_INVALID', `${what}: body is not JSON: ${snippet(text)}`, {
      cause: error,
      status: response.status,
      payload: text,
    });
  }
}

function httpError(what: string, response: Response, text: string): ProviderHttpError {
  const status = response.status;
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  const message = `${what} answered HTTP ${status}: ${snippet(text)}`;
  if (status === 429) return new ProviderHttpError('PROVIDER_RATE_LIMITED', message, { status, retryAfterMs });
  if (status === 418) return new ProviderHttpError('PROVIDER_BANNED', message, { status, retryAfterMs });
  return new ProviderHttpError('PROVIDER_HTTP', message, { status, retryAfterMs, retryable: status >= 500, payload: text });
}

/** `Retry-After` as seconds or an HTTP date, in ms from now; `undefined` if absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/** Plain words for the network failures a person meets most, keeping the system code. */
const NETWORK_WORDS: Record<string, string> = {
  ENOTFOUND: 'host name not found (no DNS or no internet)',
  EAI_AGAIN: 'host name lookup failed (no DNS or no internet)',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ETIMEDOUT: 'connection timed out',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed by the server',
};

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code;
  if (code) return NETWORK_WORDS[code] ? `${NETWORK_WORDS[code]} (${code})` : code;
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS)}…` : flat || '(empty body)';
}

/** Checks a whole response body against `schema`; a mismatch is PROVIDER_RESPONSE_INVALID. */
export function parseEnvelope<T>(provider: string, what: string, schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new ProviderHttpError(
    'PROVIDER_RESPONSE_INVALID',
    `${provider} ${what}: unexpected response shape: ${describeIssues(parsed.error)}`,
    { payload: body },
  );
}

/**
 * Maps each item that parses with `schema`; an item that does not parse, or that `map` rejects
 * by returning a string, becomes a reject with the reason. One bad coin never hides the others.
 */
export function mapItems<T>(
  items: unknown[],
  schema: z.ZodType<T>,
  map: (item: T) => PriceObservation | string | undefined,
): ProviderResult {
  const result: ProviderResult = { observations: [], rejects: [] };
  for (const raw of items) {
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      result.rejects.push({ payload: raw, reason: describeIssues(parsed.error) });
      continue;
    }
    const mapped = map(parsed.data);
    if (typeof mapped === 'string') result.rejects.push({ payload: raw, reason: mapped });
    else if (mapped) result.observations.push(mapped);
  }
  return result;
}

/** A number, or a string holding one (providers send both); `NaN` text is refused here. */
export const numeric = z.union([
  z.number(),
  z
    .string()
    .trim()
    .regex(/^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i, 'expected a number as text')
    .transform(Number),
]);

/** An ISO-8601 time as epoch ms. */
export const isoTime = z
  .string()
  .transform((value) => Date.parse(value))
  .refine((ms) => Number.isFinite(ms), 'expected an ISO-8601 time');

/** The base URL joined with a path: `https://host/prefix` + `/v3/assets`. */
export function endpoint(baseUrl: string, path: string): URL {
  return new URL(baseUrl.replace(/\/+$/, '') + path);
}

/** What every live provider is built from. */
export interface LiveProviderOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  timeoutMs: number;
  /** The clock, for providers whose answers carry no time of their own. */
  now?: () => number;
}

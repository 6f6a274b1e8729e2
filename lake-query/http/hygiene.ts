import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

/**
 * Most bytes a request body may have. The SQL console takes 20,000 characters, which JSON can
 * spell in at most 6 bytes each (`\uXXXX`): 120,000 bytes; anything larger is refused unread.
 */
export const MAX_BODY_BYTES = 128 * 1024;

/** The host names of this machine: with a loopback HOST, the only names the server answers to. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** True when `host` (a HOST setting) is a loopback interface: 127.0.0.0/8, ::1 or localhost. */
export function isLoopback(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, '').toLowerCase();
  return name === 'localhost' || name === '::1' || /^127(\.\d{1,3}){3}$/.test(name);
}

const error = (c: Context, status: 403 | 405 | 413 | 415, message: string) => c.json({ error: message }, status);

/**
 * The `Host` allow-list: a request whose Host header names another host gets 403. A page on
 * another site that rebinds its own name to 127.0.0.1 (DNS rebinding) sends its own name as Host,
 * so it is refused. `'any'` lets every Host through (a server bound beyond loopback behind its token).
 */
export function hostGuard(allowed: readonly string[] | 'any'): MiddlewareHandler {
  if (allowed === 'any') return async (_c, next) => next();
  const names = new Set(allowed.map((name) => name.replace(/^\[|\]$/g, '').toLowerCase()));
  return async (c, next) => {
    const host = c.req.header('host') ?? new URL(c.req.url).host;
    const name = hostName(host);
    if (names.has(name)) return next();
    return error(
      c,
      403,
      `host: "${host.slice(0, 100)}" is not a name of this server; allowed: ${[...names].join(', ')} (ALLOWED_HOSTS adds names)`,
    );
  };
}

/**
 * Refuses requests that change anything (every method but GET, HEAD and OPTIONS) from another
 * site: an `Origin` whose host is not the request's own Host (and not listed in CORS_ORIGINS),
 * or `Sec-Fetch-Site: cross-site`. A browser sends both on a cross-origin POST, also on the
 * "simple" ones that skip the CORS preflight, so a page the operator visits cannot use the console.
 */
export function crossSiteGuard(corsOrigins: readonly string[] | undefined): MiddlewareHandler {
  const listed = new Set(corsOrigins ?? []);
  return async (c, next) => {
    if (['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)) return next();
    const origin = c.req.header('origin');
    const site = c.req.header('sec-fetch-site');
    if (origin !== undefined && listed.has(origin)) return next();
    const foreignOrigin =
      origin !== undefined && (origin === 'null' || hostOf(origin) !== (c.req.header('host') ?? new URL(c.req.url).host));
    if (foreignOrigin || site === 'cross-site') {
      return error(
        c,
        403,
        `origin: a ${c.req.method} from another site (${(origin ?? site ?? '').slice(0, 100)}) is refused; list it in CORS_ORIGINS to allow it`,
      );
    }
    return next();
  };
}

/** Requests with a body must say `Content-Type: application/json` (415 otherwise), before anything reads the body. */
export function jsonOnly(): MiddlewareHandler {
  return async (c, next) => {
    if (['GET', 'HEAD', 'OPTIONS', 'DELETE'].includes(c.req.method)) return next();
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      return error(c, 415, `content-type: expected application/json, got ${type === '' ? 'none' : `"${type.slice(0, 100)}"`}`);
    }
    return next();
  };
}

/** Bodies over `maxBytes` answer 413 before they are parsed: by Content-Length unread, or while a chunked body streams in. */
export function bodyCap(maxBytes = MAX_BODY_BYTES): MiddlewareHandler {
  return bodyLimit({ maxSize: maxBytes, onError: (c) => error(c, 413, `body: larger than ${maxBytes} bytes`) });
}

/**
 * The answer for a request no route took: 405 with `Allow` when the path exists under other
 * methods (204 with `Allow` for OPTIONS), else `notFound`. `methodsOf` returns the methods of a
 * path, or none.
 */
export function methodNotAllowed(methodsOf: (path: string) => readonly string[], notFound: (c: Context) => Response | Promise<Response>) {
  return (c: Context): Response | Promise<Response> => {
    const methods = methodsOf(c.req.path);
    if (methods.length === 0) return notFound(c);
    const allow = methods.includes('GET') && !methods.includes('HEAD') ? [...methods, 'HEAD'] : [...methods];
    c.header('Allow', allow.join(', '));
    if (c.req.method === 'OPTIONS') return c.body(null, 204);
    return error(c, 405, `method: ${c.req.method} is not allowed on ${c.req.path}; use ${allow.join(' or ')}`);
  };
}

/** The host name of a Host header, without port or IPv6 brackets, lower-case. */
function hostName(host: string): string {
  const bracketed = /^\[([^\]]+)\](:\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return host.replace(/:\d+$/, '').toLowerCase();
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

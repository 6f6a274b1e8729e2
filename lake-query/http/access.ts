import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { cors } from 'hono/cors';

/** Name of the cookie that carries the access token after `/?token=...`. */
export const TOKEN_COOKIE = 'cryptolake_token';

/**
 * The access token check. With no token configured every request passes. With one, a request
 * needs `Authorization: Bearer <token>` or the HttpOnly cookie; opening any page with
 * `?token=<token>` sets the cookie and redirects to the same address without it, so the token
 * never stays in the address bar or reaches the page's scripts. Tokens are compared as SHA-256
 * digests in constant time. API routes answer 401 JSON, the page a short text.
 */
export function tokenGuard(token: string | undefined): MiddlewareHandler {
  if (!token) return async (_c, next) => next();
  const expected = digest(token);
  const matches = (candidate: string | undefined) => candidate !== undefined && timingSafeEqual(digest(candidate), expected);
  return async (c, next) => {
    const fromQuery = c.req.query('token');
    if (fromQuery !== undefined && c.req.method === 'GET' && !c.req.path.startsWith('/api/')) {
      if (!matches(fromQuery)) return c.text('Wrong token.', 401);
      setCookie(c, TOKEN_COOKIE, token, {
        httpOnly: true,
        sameSite: 'Strict',
        path: '/',
        secure: new URL(c.req.url).protocol === 'https:',
      });
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(sameSiteLocation(url), 302);
    }
    const header = c.req.header('authorization');
    const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (matches(bearer) || matches(getCookie(c, TOKEN_COOKIE))) return next();
    c.header('WWW-Authenticate', 'Bearer realm="cryptolake"');
    if (c.req.path.startsWith('/api/') || c.req.path === '/metrics') {
      return c.json({ error: 'authorization: send Authorization: Bearer <API_TOKEN>, or open the page with ?token=<API_TOKEN> once' }, 401);
    }
    return c.text('This cryptolake needs an access token: open it once as /?token=<API_TOKEN>.', 401);
  };
}

/**
 * A redirect target on this site: the path and query of `url`, with leading slashes and
 * backslashes folded into one, so `//other.site/x` (which a browser reads as another host) stays
 * here as `/other.site/x`.
 */
export function sameSiteLocation(url: URL): string {
  return `${url.pathname.replace(/^[/\\]+/, '/')}${url.search}`;
}

/** CORS for the listed origins only; with none listed, no CORS header is ever sent. */
export function corsGuard(origins: readonly string[] | undefined): MiddlewareHandler {
  if (!origins || origins.length === 0) return async (_c, next) => next();
  return cors({
    origin: (origin) => (origins.includes(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type'],
    maxAge: 600,
  });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

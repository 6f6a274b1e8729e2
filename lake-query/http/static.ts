import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Context } from 'hono';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export const NOT_BUILT_MESSAGE =
  'The dashboard is not built yet. Run `npm run build:dashboard`, then reload this page. The API is up at /api/health.';

/**
 * Serves the built dashboard from `dir`. The page is revalidated on every load (`no-cache`) and
 * its assets are kept for five minutes, so a rebuild shows up on the next reload. Without
 * `index.html` the root answers 503 saying how to build it.
 */
export function dashboardHandler(dir: string) {
  const root = resolve(dir);
  return async (c: Context): Promise<Response> => {
    const requested = c.req.path === '/' ? '/index.html' : c.req.path;
    let decoded: string;
    try {
      decoded = decodeURIComponent(requested);
    } catch {
      return c.text('Not found', 404);
    }
    const path = normalize(join(root, decoded));
    if (!path.startsWith(root + sep)) return c.text('Not found', 404);
    const body = await readFile(path).catch(() => undefined);
    if (body === undefined) {
      if (requested === '/index.html') return c.text(NOT_BUILT_MESSAGE, 503);
      return c.text(`Not found: ${c.req.path}`, 404);
    }
    const type = TYPES[extname(path)] ?? 'application/octet-stream';
    c.header('Content-Type', type);
    c.header('Cache-Control', type.startsWith('text/html') ? 'no-cache' : 'public, max-age=300');
    c.header('X-Content-Type-Options', 'nosniff');
    return c.body(new Uint8Array(body));
  };
}

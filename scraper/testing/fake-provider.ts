import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One canned answer. `reset` drops the connection without an answer; `delayMs` waits first. */
export interface FakeResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string | object;
  delayMs?: number;
  reset?: boolean;
}

/** A request the fake server saw. */
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
}

/** A route's answers: always the same, one per request in turn (the last repeats), or computed. */
export type FakeRoute = FakeResponse | FakeResponse[] | ((request: SeenRequest) => FakeResponse);

/** A running fake provider. */
export interface FakeProvider {
  baseUrl: string;
  requests: SeenRequest[];
  /** Sets or replaces the route of a path (the query is ignored when matching). */
  route(path: string, route: FakeRoute): void;
  close(): Promise<void>;
}

/**
 * A local HTTP server on 127.0.0.1 and a free port, answering each path from `routes` (404
 * otherwise). Tests point a provider's base URL at it and inject faults per route: status
 * sequences, delays, dropped connections.
 */
export async function startFakeProvider(routes: Record<string, FakeRoute> = {}): Promise<FakeProvider> {
  const table = new Map(Object.entries(routes));
  const counts = new Map<string, number>();
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const seen = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers };
    requests.push(seen);
    const route = table.get(url.pathname);
    const index = counts.get(url.pathname) ?? 0;
    counts.set(url.pathname, index + 1);
    const answer: FakeResponse =
      route === undefined
        ? { status: 404, body: { message: 'NotFound' } }
        : typeof route === 'function'
          ? route(seen)
          : Array.isArray(route)
            ? (route[Math.min(index, route.length - 1)] ?? {})
            : route;
    const send = () => {
      if (answer.reset) {
        req.socket.destroy();
        return;
      }
      const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
      res.end(body);
    };
    if (answer.delayMs) setTimeout(send, answer.delayMs);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    route: (path, route) => {
      table.set(path, route);
      counts.delete(path);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

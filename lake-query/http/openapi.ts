import type { OpenAPIHono } from '@hono/zod-openapi';
import type { z } from 'zod';
import { ErrorBody } from './schemas.ts';

const error = (description: string) => ({ description, content: { 'application/json': { schema: ErrorBody } } }) as const;

/** The error answers any route may give, besides its own. */
const COMMON_ERRORS = {
  401: error('API_TOKEN is set and the request carries no valid token'),
  403: error('The Host header is not a name of this server (DNS rebinding), or a POST came from another site'),
  500: error('An unexpected failure; the message says what was being done, never a path or a stack'),
} as const;

/** The errors of a route that reads the lake. */
const LAKE_ERRORS = {
  503: error(
    'A data file the answer needs cannot be read (the message names it, relative to the data path), or the route is not available',
  ),
  504: error('The query took longer than QUERY_TIMEOUT_MS'),
} as const;

/** What a route's errors depend on: whether it takes parameters, and whether it reads the lake or only the status board. */
export interface AnswerOptions {
  params?: boolean;
  reads?: 'lake' | 'status';
}

/**
 * The error answers of a route: 400 when it takes parameters, the errors every route may give,
 * and those of lake queries unless `reads` is `'status'`.
 */
export function errorAnswers(options: AnswerOptions = {}) {
  return {
    ...(options.params ? { 400: error('A parameter is invalid; the message starts with its name') } : {}),
    ...COMMON_ERRORS,
    ...(options.reads === 'status' ? {} : LAKE_ERRORS),
  } as const;
}

/** The `responses` of a JSON route: 200 with `body`, and its `errorAnswers`. */
export function jsonAnswers<T extends z.ZodType>(body: T, options: AnswerOptions = {}) {
  return { 200: { description: 'OK', content: { 'application/json': { schema: body } } }, ...errorAnswers(options) } as const;
}

/** The extra answers of a route that takes a JSON body. */
export const BODY_ERRORS = {
  400: error('The body is not JSON, or a field is invalid; the message starts with its name'),
  413: error('The body is larger than 128 KiB; it was not read'),
  415: error('Content-Type is not application/json'),
} as const;

/** The SQL console's own refusals: a query past a limit, no free worker, no worker at all. */
export const CONSOLE_ERRORS = {
  422: error('The query reached a limit (time, memory, result size); the message names it'),
  429: error('Every console worker is busy and the queue is full, or the wait ran out; Retry-After says when to ask again'),
  503: error('The SQL console has no worker that could start, or is not available on this server'),
} as const;

/**
 * The OpenAPI 3.1 document of `app`, generated from the routes it serves: each route's
 * parameters, body and answers are the zod schemas that validate and shape them.
 */
export function openApiDocument(app: OpenAPIHono): ReturnType<OpenAPIHono['getOpenAPI31Document']> {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'cryptolake lake-query API',
      version: '1',
      description: [
        'Read-only access to the crypto market-data lake. Errors are `{ "error": "..." }`.',
        'With API_TOKEN set, send `Authorization: Bearer <token>`.',
        'A method a path does not serve answers 405 with `Allow`; a body must be `application/json` (415) of at most 128 KiB (413).',
        'A request whose Host is not a name of this server, or a POST from another site, answers 403.',
      ].join(' '),
    },
    security: [{}, { bearer: [] }],
  });
}

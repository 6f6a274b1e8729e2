import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from '../../core/log.ts';
import type { SqlSandbox } from '../sql-sandbox.ts';
import { routes } from './routes.ts';

/**
 * `POST /api/sql`: the body was checked by the route (JSON, at most 128 KiB, `sql` a non-empty
 * string); the sandbox runs it. Without a sandbox the route answers 503.
 */
export function registerSqlRoute(app: OpenAPIHono, sandbox: Pick<SqlSandbox, 'run'> | undefined, log: Logger): void {
  app.openapi(routes.sql, async (c) => {
    const { sql } = c.req.valid('json');
    if (!sandbox) return c.json({ error: 'the SQL console is not available on this server' }, 503);
    const result = await sandbox.run(sql);
    log.info({ rows: result.rowCount, truncatedBy: result.truncatedBy, elapsedMs: result.elapsedMs }, 'Answered a SQL console query');
    return c.json(result, 200);
  });
}

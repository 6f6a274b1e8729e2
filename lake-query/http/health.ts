import type { Health } from '../../core/ports/health.ts';
import type { StatusBoard } from '../../core/status-board.ts';
import type { ProcessorStatus, ScraperStatus } from '../../core/records/status.ts';

/** Anything with a health check: the lake and each adapter. */
export interface HealthCheck {
  health(): Promise<Health>;
}

/** The body of `GET /api/health`: every part's state, and whether the prices are made up. */
export interface HealthReport {
  ok: boolean;
  synthetic: boolean;
  checkedAt: number;
  /** lake (DuckDB), bus, store, cache */
  parts: Record<string, Health>;
  scraper: Health & { status: ScraperStatus | null };
  processor: Health & { status: ProcessorStatus | null };
}

/** Asks every part at once; a check that throws counts as down with its message. */
export async function healthReport(
  checks: Record<string, HealthCheck>,
  statusBoard: Pick<StatusBoard, 'read'>,
  synthetic: boolean,
  now: number,
): Promise<HealthReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(
      async ([name, check]) => [name, await check.health().catch((error: unknown) => ({ ok: false, detail: String(error) }))] as const,
    ),
  );
  const [scraper, processor] = await Promise.all([statusBoard.read('scraper'), statusBoard.read('processor')]);
  const parts = Object.fromEntries(entries);
  const scraperHealth = { ...describeScraper(scraper), status: scraper ?? null };
  const processorHealth = { ...describeProcessor(processor), status: processor ?? null };
  return {
    ok: Object.values(parts).every((h) => h.ok) && scraperHealth.ok && processorHealth.ok,
    synthetic: synthetic || scraper?.synthetic === true,
    checkedAt: now,
    parts,
    scraper: scraperHealth,
    processor: processorHealth,
  };
}

function describeScraper(status: ScraperStatus | undefined): Health {
  if (!status) return { ok: false, detail: 'not reporting: no scraper status in the shared cache' };
  const failing = status.providers.filter((p) => !p.ok);
  if (status.providers.length > 0 && failing.length === status.providers.length) {
    return { ok: false, detail: `no provider answers: ${failing.map((p) => `${p.name}: ${p.lastError ?? 'failing'}`).join('; ')}` };
  }
  if (status.unserved.length > 0) return { ok: false, detail: `no provider served ${status.unserved.join(', ')} in the last poll` };
  const detail =
    failing.length > 0
      ? `${failing.length} of ${status.providers.length} providers failing, served by fallbacks`
      : `${status.providers.length} providers answering`;
  return { ok: true, detail };
}

function describeProcessor(status: ProcessorStatus | undefined): Health {
  if (!status) return { ok: false, detail: 'not reporting: no processor status in the shared cache' };
  if (status.lastError) return { ok: false, detail: status.lastError };
  const lag = Object.values(status.lag).reduce((sum, n) => sum + n, 0);
  return { ok: true, detail: `${status.recordsWritten} records in ${status.commits} commits, lag ${lag}` };
}

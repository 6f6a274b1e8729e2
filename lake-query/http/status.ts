import type { StatusBoard } from '../../core/status-board.ts';
import type { ProcessorStatus, ProviderStatus, ScraperStatus } from '../../core/records/status.ts';
import type { LatestPrice, PartitionInfo } from '../queries.ts';
import type { BrokenFile } from '../broken-files.ts';

/** The body of `GET /api/providers`: the scraper's view of each provider and its recent fallbacks. */
export interface ProvidersReport {
  ok: boolean;
  detail: string;
  synthetic: boolean;
  providers: ProviderStatus[];
  recentFallbacks: ScraperStatus['recentFallbacks'];
  unserved: string[];
  lastPollAt: number | null;
}

/** The live feed of `/api/stream`: following the bus, clients connected, prices passed on, slow clients dropped. */
export interface LiveStatus {
  following: boolean;
  clients: number;
  received: number;
  dropped: number;
  error: string | null;
}

/** The body of `GET /api/pipeline`. */
export interface PipelineReport {
  ok: boolean;
  detail: string;
  processor: ProcessorStatus | null;
  lag: number;
  lakeFreshnessMs: number | null;
  live: LiveStatus;
  brokenFiles: BrokenFile[];
  totals: { days: number; files: number; rows: number; bytes: number };
  days: PartitionInfo[];
}

/** What the scraper last published to the status board; a silent scraper is reported as such. */
export async function providersReport(board: Pick<StatusBoard, 'read'>, synthetic: boolean): Promise<ProvidersReport> {
  const status = await board.read('scraper');
  if (!status) {
    return {
      ok: false,
      detail: 'the scraper is not reporting (no status in the shared cache)',
      synthetic,
      providers: [],
      recentFallbacks: [],
      unserved: [],
      lastPollAt: null,
    };
  }
  const failing = status.providers.filter((p) => !p.ok);
  const ok = status.unserved.length === 0 && (status.providers.length === 0 || failing.length < status.providers.length);
  const detail =
    failing.length === 0
      ? `${status.providers.length} providers answering`
      : `${failing.length} of ${status.providers.length} providers failing: ${failing.map((p) => p.name).join(', ')}`;
  return {
    ok,
    detail: status.unserved.length > 0 ? `${detail}; unserved: ${status.unserved.join(', ')}` : detail,
    synthetic: synthetic || status.synthetic,
    providers: status.providers,
    recentFallbacks: status.recentFallbacks,
    unserved: status.unserved,
    lastPollAt: status.lastPollAt,
  };
}

/**
 * Processor figures, the age of the lake's newest record, the live feed, the broken data files and
 * the lake per day. `latest` is undefined when the newest prices could not be read (a broken
 * file): the report still answers, with no freshness.
 */
export async function pipelineReport(
  board: Pick<StatusBoard, 'read'>,
  partitions: PartitionInfo[],
  latest: LatestPrice[] | undefined,
  live: LiveStatus | undefined,
  brokenFiles: BrokenFile[],
  now: number,
): Promise<PipelineReport> {
  const processor = (await board.read('processor')) ?? null;
  const lag = processor ? Object.values(processor.lag).reduce((sum, n) => sum + n, 0) : 0;
  const newest = (latest ?? []).reduce<number | null>((max, p) => (max === null || p.ts > max ? p.ts : max), null);
  const sum = (pick: (p: PartitionInfo) => number) => partitions.reduce((total, p) => total + pick(p), 0);
  const processorDetail = !processor
    ? 'the processor is not reporting (no status in the shared cache)'
    : (processor.lastError ?? `${processor.recordsWritten} records in ${processor.commits} commits, lag ${lag}`);
  const filesDetail =
    brokenFiles.length === 0
      ? ''
      : `${brokenFiles.length} data ${brokenFiles.length === 1 ? 'file' : 'files'} cannot be read (${brokenFiles
          .slice(0, 3)
          .map((file) => file.path)
          .join(', ')}); `;
  return {
    ok: processor !== null && processor.lastError === null && brokenFiles.length === 0,
    detail: `${filesDetail}${processorDetail}`,
    processor,
    lag,
    lakeFreshnessMs: newest === null ? null : Math.max(0, now - newest),
    live: live ?? { following: false, clients: 0, received: 0, dropped: 0, error: 'no live feed on this server' },
    brokenFiles,
    totals: { days: partitions.length, files: sum((p) => p.files), rows: sum((p) => p.rows), bytes: sum((p) => p.bytes) },
    days: partitions,
  };
}

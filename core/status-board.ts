import type { z } from 'zod';
import type { Cache } from './ports/cache.ts';
import { ProcessorStatus, ScraperStatus, StreamsStatus } from './records/status.ts';

const SCHEMAS = { scraper: ScraperStatus, processor: ProcessorStatus, streams: StreamsStatus } as const;
type Part = keyof typeof SCHEMAS;
type StatusOf<P extends Part> = z.infer<(typeof SCHEMAS)[P]>;

/**
 * Parts publish their status to the shared cache under `status:<part>` with a short expiry;
 * lake-query reads it back. A status that expired means the part stopped reporting.
 * Cache failures are swallowed here on purpose: status is advisory and must never stop a part.
 */
export class StatusBoard {
  constructor(
    private readonly cache: Cache,
    private readonly ttlSeconds = 30,
  ) {}

  async publish<P extends Part>(part: P, status: StatusOf<P>): Promise<void> {
    await this.cache.set(`status:${part}`, JSON.stringify(status), this.ttlSeconds).catch(() => undefined);
  }

  /** The part's latest status, or `undefined` if it has not reported within the expiry. */
  async read<P extends Part>(part: P): Promise<StatusOf<P> | undefined> {
    const text = await this.cache.get(`status:${part}`).catch(() => undefined);
    if (text === undefined) return undefined;
    const parsed = SCHEMAS[part].safeParse(JSON.parse(text));
    return parsed.success ? (parsed.data as StatusOf<P>) : undefined;
  }
}

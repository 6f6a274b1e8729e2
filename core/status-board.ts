import type { z } from 'zod';
import type { Cache } from './ports/cache.ts';
import { ProcessorStatus, ScraperStatus, StreamsStatus } from './records/status.ts';

const SCHEMAS = { scraper: ScraperStatus, processor: ProcessorStatus, streams: StreamsStatus } as const;
type Part = keyof typeof SCHEMAS;
type StatusOf<P extends Part> = z.infer<(typeof SCHEMAS)[P]>;

/**
 * Parts publish their status to the shared cache with a short expiry; lake-query reads it back.
 * Each status goes under `status:<part>` (the latest of any replica) and, as the field named by its
 * `instance`, in the map `status:<part>:replicas`, so a reader sees every replica still reporting.
 * A status that expired means the part (or that replica) stopped reporting. Cache failures are
 * swallowed here on purpose: status is advisory and must never stop a part.
 */
export class StatusBoard {
  constructor(
    private readonly cache: Cache,
    private readonly ttlSeconds = 30,
  ) {}

  async publish<P extends Part>(part: P, status: StatusOf<P>): Promise<void> {
    const text = JSON.stringify(status);
    await Promise.all([
      this.cache.set(`status:${part}`, text, this.ttlSeconds).catch(() => undefined),
      this.cache.setField(`status:${part}:replicas`, status.instance, text, this.ttlSeconds).catch(() => undefined),
    ]);
  }

  /** The part's latest status, or `undefined` if it has not reported within the expiry. */
  async read<P extends Part>(part: P): Promise<StatusOf<P> | undefined> {
    const text = await this.cache.get(`status:${part}`).catch(() => undefined);
    if (text === undefined) return undefined;
    const parsed = SCHEMAS[part].safeParse(JSON.parse(text));
    return parsed.success ? (parsed.data as StatusOf<P>) : undefined;
  }

  /** The latest status of every replica of the part that reported within the expiry, by instance name. */
  async readReplicas<P extends Part>(part: P): Promise<StatusOf<P>[]> {
    const fields = await this.cache.fields(`status:${part}:replicas`).catch(() => ({}) as Record<string, string>);
    const replicas: StatusOf<P>[] = [];
    for (const text of Object.values(fields)) {
      const parsed = SCHEMAS[part].safeParse(JSON.parse(text));
      if (parsed.success) replicas.push(parsed.data as StatusOf<P>);
    }
    return replicas.sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
  }
}

import { z } from 'zod';

/**
 * What each part reports about itself, written to the shared cache (see `core/status-board.ts`)
 * so that lake-query can show the health of parts running in other processes.
 */
export const ProviderStatus = z.object({
  name: z.string(),
  kind: z.enum(['live', 'replay', 'synthetic']),
  ok: z.boolean(),
  requests: z.number(),
  failures: z.number(),
  /** failures by kind, e.g. { http_429: 3, timeout: 1 } */
  failuresByKind: z.record(z.string(), z.number()),
  recordsServed: z.number(),
  cacheHits: z.number(),
  fallbacks: z.number(),
  lastLatencyMs: z.number().nullable(),
  lastSuccessAt: z.number().nullable(),
  lastError: z.string().nullable(),
  lastErrorAt: z.number().nullable(),
});
export type ProviderStatus = z.infer<typeof ProviderStatus>;

export const ScraperStatus = z.object({
  part: z.literal('scraper'),
  instance: z.string(),
  updatedAt: z.number(),
  synthetic: z.boolean(),
  symbols: z.array(z.string()),
  polls: z.number(),
  lastPollAt: z.number().nullable(),
  published: z.number(),
  deadLettered: z.number(),
  /** symbols no provider served in the last poll */
  unserved: z.array(z.string()),
  providers: z.array(ProviderStatus),
  /** most recent fallbacks, newest first: which symbol moved from which provider to which and why */
  recentFallbacks: z.array(
    z.object({ at: z.number(), symbol: z.string(), from: z.string(), to: z.string().nullable(), reason: z.string() }),
  ),
});
export type ScraperStatus = z.infer<typeof ScraperStatus>;

export const ProcessorStatus = z.object({
  part: z.literal('processor'),
  instance: z.string(),
  updatedAt: z.number(),
  /** Records committed to the lake (duplicates dropped not counted). */
  recordsWritten: z.number(),
  /** Records dropped at commit because the lake already held their key (or they came twice in one flush). */
  duplicatesDropped: z.number(),
  /** The same, per dataset (`trades`, `prices`, ...): e.g. the second copy of each trade two stream replicas published. */
  duplicatesDroppedByDataset: z.record(z.string(), z.number()),
  deadLettered: z.number(),
  /** Lake transactions committed. */
  commits: z.number(),
  bufferedRecords: z.number(),
  bufferedBytes: z.number(),
  lastFlushAt: z.number().nullable(),
  lastFlushMs: z.number().nullable(),
  lastError: z.string().nullable(),
  /** consumer lag per bus partition, in messages */
  lag: z.record(z.string(), z.number()),
});
export type ProcessorStatus = z.infer<typeof ProcessorStatus>;

/** One venue's stream connection as the stream reader sees it. */
export const VenueStreamStatus = z.object({
  venue: z.string(),
  /** Markets subscribed, in the venue's names. */
  markets: z.array(z.string()),
  connected: z.boolean(),
  /** Connections opened since start (the first included): reconnects and rotations add one each. */
  connections: z.number(),
  tradesReceived: z.number(),
  tickersReceived: z.number(),
  /** Trades seen twice (a venue's duplicate, or the overlap of a rotation or a refill), published once. */
  duplicatesDropped: z.number(),
  malformedFrames: z.number(),
  /** Missed trade ids noticed, fetched back from REST, and recorded as gaps because REST did not return them. */
  tradesMissed: z.number(),
  tradesRefilled: z.number(),
  /** Missed trade ids not fetched back because another replica (or an earlier run) had already published them. */
  tradesCoveredByReplicas: z.number(),
  gapsRecorded: z.number(),
  /** Trades waiting for the bus, and whether reading is paused because too many wait. */
  buffered: z.number(),
  paused: z.boolean(),
  lastTradeAt: z.number().nullable(),
  lastError: z.string().nullable(),
  lastErrorAt: z.number().nullable(),
});
export type VenueStreamStatus = z.infer<typeof VenueStreamStatus>;

export const StreamsStatus = z.object({
  part: z.literal('streams'),
  instance: z.string(),
  updatedAt: z.number(),
  venues: z.array(VenueStreamStatus),
});
export type StreamsStatus = z.infer<typeof StreamsStatus>;

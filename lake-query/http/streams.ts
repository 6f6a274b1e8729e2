import { z } from 'zod';
import { VenueStreamStatus, type ProcessorStatus } from '../../core/records/status.ts';
import type { StatusBoard } from '../../core/status-board.ts';

/** A replica that has not reported for this long is shown as not reporting, and its connections do not count, ms. */
export const STREAM_STALE_AFTER_MS = 10_000;

/** One stream reader (a scraper replica) as it last reported. */
export const StreamReplicaBody = z.object({
  instance: z.string().describe('the replica: host and process id'),
  updatedAt: z.number().int().describe('its last report, epoch ms'),
  reporting: z.boolean().describe(`it reported within the last ${STREAM_STALE_AFTER_MS / 1000} s`),
  venues: z.array(VenueStreamStatus),
});

/** The body of `GET /api/streams`. */
export const StreamsBody = z.object({
  ok: z.boolean().describe('every venue connected on at least one reporting replica'),
  detail: z.string(),
  venues: z
    .array(VenueStreamStatus)
    .describe('each venue over the reporting replicas: connected when one is, figures summed, the latest trade and error'),
  replicas: z.array(StreamReplicaBody).describe('each stream reader, its connections and figures, by instance'),
  lake: z
    .object({
      processors: z.number().int().describe('processors reporting'),
      duplicatesDropped: z
        .record(z.string(), z.number())
        .describe('records the processors dropped at commit as already in the lake, per dataset (trades, prices, ...), since they started'),
    })
    .describe('what the lake did with what the replicas published'),
});
export type StreamsReport = z.infer<typeof StreamsBody>;
type Replica = z.infer<typeof StreamReplicaBody>;

/**
 * What the stream readers and processors last published to the status board: every replica with
 * its connections, the venues over the replicas still reporting, and the duplicates the lake
 * dropped. Silent readers are reported as such.
 */
export async function streamsReport(board: Pick<StatusBoard, 'readReplicas'>, now: number): Promise<StreamsReport> {
  const [readers, processors] = await Promise.all([board.readReplicas('streams'), board.readReplicas('processor')]);
  const lake = lakeFigures(processors);
  const replicas: Replica[] = readers.map((status) => ({
    instance: status.instance,
    updatedAt: status.updatedAt,
    reporting: now - status.updatedAt <= STREAM_STALE_AFTER_MS,
    venues: status.venues,
  }));
  const live = replicas.filter((replica) => replica.reporting);
  if (live.length === 0) {
    const detail =
      replicas.length === 0
        ? 'the stream reader is not reporting (no status in the shared cache)'
        : `no stream reader reported in the last ${STREAM_STALE_AFTER_MS / 1000} s`;
    return { ok: false, detail, venues: [], replicas, lake };
  }
  const venues = combine(live);
  const down = venues.filter((venue) => !venue.connected);
  const counted = venues.length === 0 ? 'no venue streams configured' : venueDetail(venues, down);
  const detail =
    replicas.length === 1 ? counted : `${live.length} of ${replicas.length} replicas reporting: ${counted}${partlyDown(live, down)}`;
  return { ok: down.length === 0, detail, venues, replicas, lake };
}

function venueDetail(venues: readonly VenueStreamStatus[], down: readonly VenueStreamStatus[]): string {
  if (down.length === 0) return `${venues.length} ${venues.length === 1 ? 'venue' : 'venues'} connected`;
  const named = down.map((venue) => (venue.lastError ? `${venue.venue} (${venue.lastError})` : venue.venue));
  return `${down.length} of ${venues.length} venues disconnected: ${named.join(', ')}`;
}

/** `; kraken down on host-2` for venues one replica lost while another still reads them. */
function partlyDown(live: readonly Replica[], down: readonly VenueStreamStatus[]): string {
  const gone = new Set(down.map((venue) => venue.venue));
  const notes = live.flatMap((replica) =>
    replica.venues
      .filter((venue) => !venue.connected && !gone.has(venue.venue))
      .map((venue) => `${venue.venue} down on ${replica.instance}`),
  );
  return notes.length === 0 ? '' : `; ${notes.join(', ')}`;
}

/** Each venue over the replicas: connected and paused when any is, counts summed, the newest trade and error. */
function combine(replicas: readonly Replica[]): VenueStreamStatus[] {
  const byVenue = new Map<string, VenueStreamStatus>();
  for (const status of replicas.flatMap((replica) => replica.venues)) {
    const seen = byVenue.get(status.venue);
    if (!seen) {
      byVenue.set(status.venue, { ...status, markets: [...status.markets] });
      continue;
    }
    const newer = (status.lastErrorAt ?? -Infinity) > (seen.lastErrorAt ?? -Infinity);
    byVenue.set(status.venue, {
      ...seen,
      markets: [...new Set([...seen.markets, ...status.markets])],
      connected: seen.connected || status.connected,
      paused: seen.paused || status.paused,
      connections: seen.connections + status.connections,
      tradesReceived: seen.tradesReceived + status.tradesReceived,
      tickersReceived: seen.tickersReceived + status.tickersReceived,
      duplicatesDropped: seen.duplicatesDropped + status.duplicatesDropped,
      malformedFrames: seen.malformedFrames + status.malformedFrames,
      tradesMissed: seen.tradesMissed + status.tradesMissed,
      tradesRefilled: seen.tradesRefilled + status.tradesRefilled,
      tradesCoveredByReplicas: seen.tradesCoveredByReplicas + status.tradesCoveredByReplicas,
      gapsRecorded: seen.gapsRecorded + status.gapsRecorded,
      buffered: seen.buffered + status.buffered,
      lastTradeAt: Math.max(seen.lastTradeAt ?? -Infinity, status.lastTradeAt ?? -Infinity),
      lastError: newer ? status.lastError : seen.lastError,
      lastErrorAt: newer ? status.lastErrorAt : seen.lastErrorAt,
    });
  }
  return [...byVenue.values()].map((venue) => ({ ...venue, lastTradeAt: Number.isFinite(venue.lastTradeAt) ? venue.lastTradeAt : null }));
}

function lakeFigures(processors: readonly ProcessorStatus[]): StreamsReport['lake'] {
  const duplicatesDropped: Record<string, number> = {};
  for (const status of processors) {
    for (const [dataset, count] of Object.entries(status.duplicatesDroppedByDataset)) {
      duplicatesDropped[dataset] = (duplicatesDropped[dataset] ?? 0) + count;
    }
  }
  return { processors: processors.length, duplicatesDropped };
}

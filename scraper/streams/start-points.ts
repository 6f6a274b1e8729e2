import type { LakeLocation } from '../../core/adapters/select.ts';
import { messageOf } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { StreamCheckpoints, TradeMark } from './checkpoints.ts';
import { marketKey, readLakeMarkets, type LakeMarket, type VenueMarket } from './lake-marks.ts';
import type { MissingRun } from './sequence.ts';

/** Where a market's stream resumes: after `mark`, with `holes` (ids missing before it) to fetch back first. */
export interface StartPoint {
  mark: TradeMark;
  holes: MissingRun[];
}

/** Where start points come from. */
export interface StartSources {
  /** The marks the replicas share (the cache): how far each market's trades reached the bus. */
  checkpoints: Pick<StreamCheckpoints, 'load'>;
  /** The lake, read-only, for the markets no replica left a mark for. */
  lake?: LakeLocation | undefined;
  /** How far back from a market's newest trade in the lake to look for ids it misses, ms. */
  lookbackMs: number;
  log: Logger;
}

/**
 * Finds where each market's trade stream resumes, keyed `venue market` (see `marketKey`). The
 * replicas' shared mark comes first: everything up to it is on the bus, where a lake may not have it
 * yet. A market without one (the embedded cache lives in the process; a shared store emptied) resumes
 * after the lake's newest trade, with the runs the lake misses before it (ids neither in `trades`
 * nor in `gaps`: what a crash took while it was being fetched back) as holes. A market neither knows
 * starts with the first trade it sees. A lake that cannot be read is logged and left out: its
 * markets then start fresh, and what traded while the scraper was down is neither refilled nor
 * recorded.
 */
export async function findStartPoints(markets: readonly VenueMarket[], sources: StartSources): Promise<Map<string, StartPoint>> {
  const points = new Map<string, StartPoint>();
  const unknown: VenueMarket[] = [];
  for (const { venue, market } of markets) {
    const mark = await sources.checkpoints.load(venue, market);
    if (mark) points.set(marketKey(venue, market), { mark, holes: [] });
    else unknown.push({ venue, market });
  }
  if (unknown.length > 0 && sources.lake) {
    const lake = await readLakeWithRetries(sources.lake, unknown, sources);
    for (const [key, market] of lake ?? []) points.set(key, { mark: market.newest, holes: market.missing });
  }
  for (const [key, point] of points) {
    const missing = point.holes.reduce((sum, hole) => sum + hole.last - hole.first + 1, 0);
    sources.log.info(
      { market: key, after: point.mark.tradeId, holes: point.holes.length, missing },
      'Resuming a trade stream where the last run left it',
    );
  }
  return points;
}

/**
 * The lake's markets, asked again after a failure (a catalog busy with a writer, a store blipping)
 * for `attempts` tries with growing waits; `undefined`, logged as an error, when it stays unreadable.
 */
async function readLakeWithRetries(
  lake: LakeLocation,
  markets: readonly VenueMarket[],
  sources: Pick<StartSources, 'lookbackMs' | 'log'> & { attempts?: number; sleep?: (ms: number) => Promise<void> },
): Promise<Map<string, LakeMarket> | undefined> {
  const attempts = sources.attempts ?? 5;
  const sleep = sources.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await readLakeMarkets(lake, markets, sources.lookbackMs);
    } catch (error) {
      if (attempt < attempts) {
        sources.log.warn({ err: messageOf(error), attempt }, 'Could not read where the lake stands; asking again');
        await sleep(500 * 2 ** (attempt - 1));
        continue;
      }
      sources.log.error(
        { err: messageOf(error), attempts, markets: markets.map(({ venue, market }) => marketKey(venue, market)) },
        'Could not read where the lake stands; these markets start with the first trade they see, and what traded while the scraper was down is neither fetched back nor recorded as a gap',
      );
      return undefined;
    }
  }
}

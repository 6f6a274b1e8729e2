import { basename } from 'node:path';
import { access } from 'node:fs/promises';
import { LakeError } from '../../core/errors.ts';
import type { PriceObservation } from '../../core/records/price.ts';
import type { PriceProvider, ProviderResult } from '../../core/ports/provider.ts';
import { symbolFromFileName } from '../symbols.ts';
import { detectLayout, type ReplayLayout } from './replay-formats.ts';
import { backwardLines, firstLines, forwardLines } from './replay-lines.ts';

/** Options of a replay: the file, its pace, and how to name what it emits. */
export interface ReplayOptions {
  file: string;
  /** 1 = real time from the first record, N = N times faster, 0 = as fast as possible. */
  speed: number;
  /** Most rows (observations and rejects) handed over by one `fetch`. */
  chunkRows?: number;
  /** `source` of the records; default `replay`. */
  source?: string;
  /** Symbol for rows that name none; default: the one in the file name. */
  symbol?: string | undefined;
  now?: () => number;
}

type Row = { observation: PriceObservation } | { reject: { payload: string; reason: string } };

const SNIFF_LINES = 50;

/**
 * Replays real history from a file (formats: see `detectLayout`) in time order: files stored
 * newest first (detected from their first two rows) are read backwards. The file is streamed,
 * never loaded whole. Each `fetch` hands over the rows that are due: at speed N, rows whose time
 * is at most N times the wall time elapsed since the first `fetch` past the first row's time;
 * at speed 0, the next `chunkRows` rows. A row that does not parse is a reject carrying its line
 * number. At the end of the file `exhausted` turns true and `fetch` returns nothing more.
 * The requested symbols do not filter a replay: the file decides what is replayed.
 */
export class ReplayProvider implements PriceProvider {
  readonly kind = 'replay';
  readonly name: string;
  private rows?: AsyncGenerator<Row>;
  private pending?: Row;
  private firstTs?: number;
  private startedAt?: number;
  private done = false;
  private readonly now: () => number;
  private readonly chunkRows: number;

  constructor(private readonly options: ReplayOptions) {
    this.name = options.source ?? 'replay';
    this.now = options.now ?? Date.now;
    this.chunkRows = options.chunkRows ?? 5_000;
  }

  /** True once the whole file has been handed over. */
  get exhausted(): boolean {
    return this.done;
  }

  async fetch(_symbols: string[], signal: AbortSignal): Promise<ProviderResult> {
    signal.throwIfAborted();
    const result: ProviderResult = { observations: [], rejects: [] };
    if (this.done) return result;
    const rows = (this.rows ??= await this.open());
    const speed = this.options.speed;
    let handed = 0;
    while (handed < this.chunkRows && !signal.aborted) {
      const next = this.pending ?? (await rows.next()).value;
      this.pending = undefined;
      if (!next) {
        this.done = true;
        break;
      }
      if ('reject' in next) {
        result.rejects.push(next.reject);
      } else {
        const { ts } = next.observation;
        // The clock starts at the first row: it plays at once, later rows at their offset from it.
        const firstTs = (this.firstTs ??= ts);
        const startedAt = (this.startedAt ??= this.now());
        if (speed > 0 && ts > firstTs + (this.now() - startedAt) * speed) {
          this.pending = next;
          break;
        }
        result.observations.push(next.observation);
      }
      handed++;
    }
    return result;
  }

  async close(): Promise<void> {
    await this.rows?.return(undefined);
    this.done = true;
  }

  private async open(): Promise<AsyncGenerator<Row>> {
    const { file } = this.options;
    await access(file).catch((error: unknown) => {
      throw new LakeError('PROVIDER_UNAVAILABLE', `replay file ${file} cannot be read`, { cause: error });
    });
    const head = await firstLines(file, SNIFF_LINES);
    const symbol = this.options.symbol ?? symbolFromFileName(file);
    const layout = detectLayout(head, { source: this.name, symbol, file: basename(file) });
    const lines = newestFirst(head, layout) ? backwardLines(file) : forwardLines(file);
    return rowsOf(lines, layout);
  }
}

async function* rowsOf(lines: AsyncGenerator<{ line: string; lineNo: number }>, layout: ReplayLayout): AsyncGenerator<Row> {
  for await (const { line, lineNo } of lines) {
    if (lineNo <= layout.headerLines) continue;
    const parsed = layout.parse(line);
    if (!parsed) continue;
    if ('reason' in parsed) yield { reject: { payload: line, reason: `line ${lineNo}: ${parsed.reason}` } };
    else yield parsed;
  }
}

/** True when the first two rows that parse go back in time. */
function newestFirst(head: string[], layout: ReplayLayout): boolean {
  const times: number[] = [];
  for (const line of head.slice(layout.headerLines)) {
    const parsed = layout.parse(line);
    if (parsed && 'observation' in parsed) times.push(parsed.observation.ts);
    if (times.length === 2) return times[1]! < times[0]!;
  }
  return false;
}

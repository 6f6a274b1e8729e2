import type { Logger } from '../core/log.ts';
import type { Health } from '../core/ports/health.ts';

/**
 * A data file of the lake that cannot be read. `path` is relative to the lake's data path
 * (`main/prices/year=2026/month=3/day=2/ducklake-<uuid>.parquet`): never an absolute path, so it
 * can be shown to any client.
 */
export interface BrokenFile {
  /** The table the file belongs to (`prices`), or '' when the path does not say. */
  table: string;
  path: string;
  /** What is wrong, in words: missing, truncated or damaged, or the reader's own message. */
  problem: string;
  /** When lake-query first found it, epoch ms. */
  since: number;
  /** `query`: a query failed on it; `check`: the file check found it missing or of the wrong size. */
  foundBy: 'query' | 'check';
}

/** What a finder knows of a broken file before the registry stamps it. */
export type BrokenFileReport = Omit<BrokenFile, 'since'>;

const MISSING = /no such file|not found|does not exist|HTTP 404|\(404\)/i;
const DAMAGED = /footer|magic bytes|too small|not a parquet|corrupt|truncated|could not read enough bytes|invalid input error/i;

/**
 * The lake data file a DuckDB error names, if any: its path relative to `dataPath` (the lake's
 * data path with a trailing slash, as DuckDB names files) and what is wrong with it. On S3,
 * DuckDB names a file either `s3://bucket/prefix/...` or by the endpoint URL it fetched
 * (`http://host:port/bucket/prefix/year%3D2026/...`, or `https://bucket.host/prefix/...`);
 * all three are found.
 */
export function brokenFileIn(error: unknown, dataPath: string): Omit<BrokenFileReport, 'foundBy'> | undefined {
  const message = decodeEscapes(error instanceof Error ? error.message : String(error));
  const match = new RegExp(`${dataPathPattern(dataPath)}([^'"\\s]+)`).exec(message);
  if (!match) return undefined;
  const path = match[1]!;
  const firstLine = hidePath(message.split('\n')[0]!, dataPath);
  const problem = MISSING.test(message)
    ? 'missing: the catalog lists it, the data path does not hold it'
    : DAMAGED.test(message)
      ? `not a readable Parquet file (truncated or damaged): ${firstLine}`
      : `cannot be read: ${firstLine}`;
  return { table: tableOf(path), path, problem };
}

/**
 * `message` with the lake's data path (and, on S3, the endpoint URL that stands for it) taken out
 * of every file name, so no absolute path or internal address reaches a client.
 */
export function hidePath(message: string, dataPath: string): string {
  return decodeEscapes(message).replace(new RegExp(dataPathPattern(dataPath), 'g'), '');
}

/** A pattern for the data path as DuckDB may write it in an error: as given, or as an S3 endpoint URL. */
function dataPathPattern(dataPath: string): string {
  const s3 = /^s3:\/\/([^/]+)\/(.*)$/.exec(dataPath);
  if (!s3) return escapeRegExp(dataPath);
  const [bucket, prefix] = [escapeRegExp(s3[1]!), escapeRegExp(s3[2]!)];
  const host = `[^/'"\\s]+`;
  const bucketAt = [`s3://${bucket}/`, `https?://${host}/${bucket}/`, `https?://${bucket}\\.${host}/`];
  return `(?:${bucketAt.join('|')})${prefix}`;
}

/** The URL escapes DuckDB leaves in S3 file names (`year%3D2026`), decoded; anything else kept. */
function decodeEscapes(message: string): string {
  return message.replace(/%[0-9A-Fa-f]{2}/g, (escape) => {
    const char = String.fromCharCode(parseInt(escape.slice(1), 16));
    return /[=+:,@ ]/.test(char) ? char : escape;
  });
}

/** The table of a data file path relative to the data path: `main/prices/year=...` -> `prices`. */
export function tableOf(path: string): string {
  const [, table] = path.split('/');
  return table && !table.includes('=') && !table.endsWith('.parquet') ? table : '';
}

/**
 * The broken data files lake-query knows of, by path: reported by failed queries at once, and
 * kept in step with the file check (`reconcile`). A file is logged at WARN once when it is found
 * and at INFO when it reads again, so an operator sees both ends without a line per query.
 */
export class BrokenFiles {
  private readonly files = new Map<string, BrokenFile>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a broken file; the first report of a path is logged. */
  report(file: BrokenFileReport): BrokenFile {
    const known = this.files.get(file.path);
    if (known && known.problem === file.problem) return known;
    const entry: BrokenFile = { ...file, since: known?.since ?? this.now() };
    this.files.set(file.path, entry);
    this.log.warn(
      { file: file.path, table: file.table, problem: file.problem, foundBy: file.foundBy },
      'A lake data file cannot be read; questions that need it answer 503, the others go on',
    );
    return entry;
  }

  /**
   * Takes a file check's findings: `found` are the files it saw missing or of the wrong size;
   * `current` tells whether a path is still one of the lake's live files. Files a query reported
   * stay while `stillBroken` says so (the check cannot see damage inside a file of the right size).
   */
  async reconcile(
    found: readonly BrokenFileReport[],
    current: (path: string) => boolean,
    stillBroken: (file: BrokenFile) => Promise<boolean>,
  ): Promise<void> {
    const flagged = new Set(found.map((file) => file.path));
    for (const file of found) this.report(file);
    for (const file of [...this.files.values()]) {
      if (flagged.has(file.path)) continue;
      const gone = !current(file.path);
      if (gone || !(await stillBroken(file))) {
        this.files.delete(file.path);
        this.log.info(
          { file: file.path, table: file.table },
          gone ? 'A broken lake data file is no longer part of the lake' : 'A lake data file reads again',
        );
      }
    }
  }

  /** The broken files, oldest first. */
  list(): BrokenFile[] {
    return [...this.files.values()].sort((a, b) => a.since - b.since || (a.path < b.path ? -1 : 1));
  }

  /** Down while any file is broken, naming the first few. */
  health(): Health {
    const files = this.list();
    if (files.length === 0) return { ok: true, detail: 'every data file the lake lists can be read' };
    const named = files.slice(0, 3).map((file) => `${file.path} (${file.problem})`);
    const more = files.length > 3 ? `; and ${files.length - 3} more` : '';
    return {
      ok: false,
      detail: `${files.length} data ${files.length === 1 ? 'file' : 'files'} cannot be read: ${named.join('; ')}${more}; questions that need ${files.length === 1 ? 'it' : 'them'} answer 503`,
    };
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

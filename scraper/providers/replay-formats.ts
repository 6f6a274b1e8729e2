import { LakeError } from '../../core/errors.ts';
import type { PriceObservation } from '../../core/records/price.ts';
import { normaliseSymbol } from '../symbols.ts';

/** What one line of a replay file gives: an observation, a reason it could not, or nothing (blank). */
export type ParsedRow = { observation: PriceObservation } | { reason: string } | undefined;

/** How to read one file: how many lines precede the data, and how to turn a line into a row. */
export interface ReplayLayout {
  name: string;
  headerLines: number;
  parse(line: string): ParsedRow;
}

/** What a layout needs besides the lines: the source name, and the symbol when rows name none. */
export interface LayoutContext {
  source: string;
  symbol?: string | undefined;
  file: string;
}

// Names a header may give each field, best first; compared lower-case with non-letters as `_`.
const TIME_COLUMNS = ['ts', 'unix_timestamp', 'unix', 'open_time', 'timestamp', 'time', 'date'];
const PRICE_COLUMNS = ['price_usd', 'close', 'price'];

/**
 * Recognises the layout from the first lines of a file:
 * - NDJSON: objects with the record's fields (`ts` as epoch ms or ISO, `symbol`, `price_usd`, ...);
 * - CSV whose header names the columns (the record's own names, or candle names such as
 *   `open_time`/`Unix Timestamp`/`Date` and `close`), with an optional CryptoDataDownload banner;
 * - CryptoDataDownload minute files without a header: `unix ms, date, BTC/USDT, o, h, l, c, ...`;
 * - Kraken OHLCVT without a header: `unix s, o, h, l, c, volume, trades`.
 * A candle becomes one observation at its close price, stamped with its open time (the time the
 * file keys it by, so replayed ids line up with the source). Candle volumes are per candle and
 * often in the base coin, so they are not the 24 h USD volume and are left empty.
 * Throws PROVIDER_RESPONSE_INVALID when the file fits none of these.
 */
export function detectLayout(lines: string[], context: LayoutContext): ReplayLayout {
  const first = lines.findIndex((line) => line.trim() !== '');
  if (first < 0) return { name: 'empty', headerLines: lines.length, parse: () => undefined };
  const head = lines[first]!.trim();
  if (head.startsWith('{')) return ndjson(context);
  const banner = /cryptodatadownload/i.test(head) ? 1 : 0;
  const headerAt = first + banner;
  const cells = splitCsv(lines[headerAt] ?? '');
  if (banner === 1 || parseTime(cells[0] ?? '') === undefined) return namedCsv(cells, headerAt + 1, context);
  if (cells.length >= 7 && number(cells[2] ?? '') === undefined) {
    // CryptoDataDownload without a header: unix ms, date, pair, open, high, low, close, ...
    return positionalCsv('cdd-minute', headerAt, { time: 0, symbol: 2, close: 6 }, context);
  }
  if (cells.length >= 5 && cells.every((cell) => number(cell) !== undefined)) {
    return positionalCsv('ohlcvt', headerAt, { time: 0, close: 4 }, context);
  }
  throw invalid(context, `line ${headerAt + 1} is not NDJSON, a CSV header or a known candle layout: ${head.slice(0, 120)}`);
}

function ndjson(context: LayoutContext): ReplayLayout {
  return {
    name: 'ndjson',
    headerLines: 0,
    parse(line) {
      if (line.trim() === '') return undefined;
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return { reason: 'not a JSON object' };
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return { reason: 'not a JSON object' };
      const field = (name: string) => (value[name] === undefined || value[name] === null ? undefined : String(value[name]));
      return row(context, {
        time: field('ts'),
        symbol: field('symbol'),
        price: field('price_usd'),
        volume: field('volume_24h_usd'),
        marketCap: field('market_cap_usd'),
        change: field('change_24h_pct'),
      });
    },
  };
}

function namedCsv(header: string[], headerLines: number, context: LayoutContext): ReplayLayout {
  const names = header.map((name) =>
    name
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_|_$/g, ''),
  );
  const find = (...candidates: string[]) => candidates.map((name) => names.indexOf(name)).find((index) => index >= 0);
  const time = find(...TIME_COLUMNS);
  const price = find(...PRICE_COLUMNS);
  if (time === undefined || price === undefined) {
    throw invalid(
      context,
      `header names no ${time === undefined ? 'time' : 'price'} column (${time === undefined ? TIME_COLUMNS.join('/') : PRICE_COLUMNS.join('/')}): ${header.join(',').slice(0, 120)}`,
    );
  }
  const columns = {
    time,
    close: price,
    symbol: find('symbol'),
    volume: find('volume_24h_usd'),
    marketCap: find('market_cap_usd'),
    change: find('change_24h_pct'),
  };
  return positionalCsv('csv', headerLines, columns, context);
}

interface Columns {
  time: number;
  close: number;
  symbol?: number | undefined;
  volume?: number | undefined;
  marketCap?: number | undefined;
  change?: number | undefined;
}

function positionalCsv(name: string, headerLines: number, columns: Columns, context: LayoutContext): ReplayLayout {
  if (columns.symbol === undefined && !context.symbol)
    throw invalid(context, 'no symbol column, none in the file name, and REPLAY_SYMBOL is unset');
  const at = (cells: string[], index: number | undefined) => (index === undefined ? undefined : cells[index]);
  return {
    name,
    headerLines,
    parse(line) {
      if (line.trim() === '') return undefined;
      const cells = splitCsv(line);
      return row(context, {
        time: at(cells, columns.time),
        symbol: at(cells, columns.symbol),
        price: at(cells, columns.close),
        volume: at(cells, columns.volume),
        marketCap: at(cells, columns.marketCap),
        change: at(cells, columns.change),
      });
    },
  };
}

interface RawRow {
  time: string | undefined;
  symbol: string | undefined;
  price: string | undefined;
  volume?: string | undefined;
  marketCap?: string | undefined;
  change?: string | undefined;
}

function row(context: LayoutContext, raw: RawRow): ParsedRow {
  const ts = parseTime(raw.time ?? '');
  if (ts === undefined) return { reason: `time: expected epoch seconds/ms or an ISO time, got ${JSON.stringify(raw.time ?? '')}` };
  const price = number(raw.price ?? '');
  if (price === undefined) return { reason: `price: expected a number, got ${JSON.stringify(raw.price ?? '')}` };
  const symbol = raw.symbol === undefined || raw.symbol.trim() === '' ? context.symbol : normaliseSymbol(raw.symbol);
  if (!symbol) return { reason: `symbol: expected a ticker such as BTC or BTC/USDT, got ${JSON.stringify(raw.symbol ?? '')}` };
  const optional = (text: string | undefined) => (text === undefined || text.trim() === '' ? null : (number(text) ?? Number.NaN));
  return {
    observation: {
      source: context.source,
      symbol,
      ts,
      price_usd: price,
      volume_24h_usd: optional(raw.volume),
      market_cap_usd: optional(raw.marketCap),
      change_24h_pct: optional(raw.change),
    },
  };
}

/**
 * Epoch seconds or ms (a number below 1e11 is taken as seconds: 1e11 ms is in 1973), or an ISO
 * date/time; a time without a zone is UTC. `undefined` when it is neither.
 */
export function parseTime(text: string): number | undefined {
  const value = text.trim();
  if (value === '') return undefined;
  const epoch = number(value);
  if (epoch !== undefined) return Math.round(Math.abs(epoch) < 1e11 ? epoch * 1000 : epoch);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined;
  let iso = value.replace(/^(\d{4}-\d{2}-\d{2})[ T]/, '$1T');
  if (iso.includes('T') && !/(Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z';
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}

function number(text: string): number | undefined {
  const value = text.trim();
  if (value === '' || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value)) return undefined;
  return Number(value);
}

function splitCsv(line: string): string[] {
  return line.split(',').map((cell) => cell.trim().replace(/^"(.*)"$/, '$1'));
}

function invalid(context: LayoutContext, detail: string): LakeError {
  return new LakeError('PROVIDER_RESPONSE_INVALID', `replay file ${context.file}: ${detail}`);
}

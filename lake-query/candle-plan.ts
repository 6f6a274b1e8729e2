import { rollupSelect, timeColumn } from '../core/adapters/ducklake/rollups.ts';
import { partialsTable } from '../core/datasets/dataset.ts';
import { sourceOf, type Rollup } from '../core/datasets/index.ts';

/**
 * One stretch of a candle query and where its rows come from: the partials of one rollup grain,
 * or the raw rows (only for the parts of the range that no grain covers whole, such as the
 * seconds after the last whole minute). `from` inclusive, `to` exclusive, epoch ms.
 */
export type Piece = { kind: 'raw'; from: number; to: number } | { kind: 'rollup'; rollup: Rollup; from: number; to: number };

/**
 * Splits [`from`, `to`) into pieces that answer candles `widthMs` wide exactly: the coarsest
 * grain whose periods fit the candles (its period divides `widthMs`) covers the whole periods of
 * the range, finer grains the rest at each end, and the raw rows what is left (less than the
 * finest period at either end). Periods and candles start at whole multiples of their width since
 * the epoch, so no period straddles two candles, and partials of one candle from different pieces
 * merge exactly. A 1-year daily chart becomes one piece of 365 daily periods; with `grains` empty,
 * one raw piece.
 */
export function planPieces(from: number, to: number, widthMs: number, grains: readonly Rollup[]): Piece[] {
  const usable = grains.filter((grain) => widthMs % grain.periodMs === 0).sort((a, b) => b.periodMs - a.periodMs);
  const cover = (start: number, end: number, candidates: readonly Rollup[]): Piece[] => {
    if (start >= end) return [];
    const [grain, ...finer] = candidates;
    if (!grain) return [{ kind: 'raw', from: start, to: end }];
    const first = Math.ceil(start / grain.periodMs) * grain.periodMs;
    const last = Math.floor(end / grain.periodMs) * grain.periodMs;
    if (first >= last) return cover(start, end, finer);
    return [...cover(start, first, finer), { kind: 'rollup', rollup: grain, from: first, to: last }, ...cover(last, end, finer)];
  };
  return cover(from, to, usable);
}

/** What the pieces of a query read: the finest grain (its source dataset is the raw table), conditions on group columns, and partial columns. */
export interface PieceSpec {
  /** The finest rollup: the raw pieces are turned into its partials, so every piece has the same columns. */
  finest: Rollup;
  /** Conditions on the group columns (`symbol = $symbol`), true for raw rows and partials alike. */
  where: readonly string[];
  /** The partial columns to select besides the period (which every piece names `t`). */
  columns: readonly string[];
}

/**
 * One SELECT (a UNION ALL) of the partials the pieces stand for, each row a partial of one group
 * and period with the period's start as `t`: rollup pieces read their partials table within their
 * range; raw pieces read the raw rows of their range and derive the finest grain's partials from
 * them, as a commit does. Each piece's bounds are bound parameters (`$from0`, `$to0`, ...) added to
 * `params`. Both kinds filter on the time column and the groups, so DuckLake opens only the files
 * whose partition and statistics can match, and row groups of other groups are skipped.
 */
export function piecesSql(pieces: readonly Piece[], spec: PieceSpec, params: Record<string, number | string>): string {
  const columns = spec.columns.join(', ');
  const raw = sourceOf(spec.finest);
  return pieces
    .map((piece, index) => {
      params[`from${index}`] = piece.from;
      params[`to${index}`] = piece.to;
      const within = (column: string) =>
        [...spec.where, `${column} >= epoch_ms($from${index}::BIGINT)`, `${column} < epoch_ms($to${index}::BIGINT)`].join(' AND ');
      if (piece.kind === 'rollup') {
        const period = piece.rollup.periodColumn;
        return `SELECT ${period} AS t, ${columns} FROM ${partialsTable(piece.rollup)} WHERE ${within(period)}`;
      }
      const rows = `(SELECT * FROM ${raw.name} WHERE ${within(timeColumn(raw))})`;
      return `SELECT ${spec.finest.periodColumn} AS t, ${columns} FROM (${rollupSelect(spec.finest, rows)})`;
    })
    .join('\nUNION ALL\n');
}

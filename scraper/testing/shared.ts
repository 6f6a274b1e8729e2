import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The shared reference folder: `CRYPTOLAKE_SHARED` when set (a checkout that is not beside it, such
 * as a git worktree), else `../shared` beside the repository (`/work/shared` next to `/work/main`).
 */
const SHARED = process.env.CRYPTOLAKE_SHARED
  ? pathToFileURL(`${process.env.CRYPTOLAKE_SHARED.replace(/\/+$/, '')}/`)
  : new URL('../../../shared/', import.meta.url);

/** Absolute path of a real price file in `shared/data/real-prices/`. */
export function realPricesPath(file: string): string {
  return fileURLToPath(new URL(`data/real-prices/${file}`, SHARED));
}

/** The text of a documented provider response in `shared/reference/provider-responses/`. */
export function fixture(file: string): string {
  return readFileSync(new URL(`reference/provider-responses/${file}`, SHARED), 'utf8');
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The shared reference folder beside the repository (`/work/shared` next to `/work/main`). */
const SHARED = new URL('../../../shared/', import.meta.url);

/** Absolute path of a real price file in `shared/data/real-prices/`. */
export function realPricesPath(file: string): string {
  return fileURLToPath(new URL(`data/real-prices/${file}`, SHARED));
}

/** The text of a documented provider response in `shared/reference/provider-responses/`. */
export function fixture(file: string): string {
  return readFileSync(new URL(`reference/provider-responses/${file}`, SHARED), 'utf8');
}

import { z } from 'zod';
import { csvList } from './config.ts';

/** Providers whose data is made up: a chain with one of them writes to its own lake by default. */
export const SYNTHETIC_PROVIDERS: readonly string[] = ['synthetic'];

/** The default provider chain: live providers that need no key, in fallback order. */
export const DEFAULT_PROVIDERS = 'coingecko,binance,kraken,coinbase';

/**
 * Where the embedded lake lives, shared by the scraper, processor and lake-query so that all
 * three agree without talking to each other. (S3 settings come with the real-services adapters.)
 */
export const lakeLocationSchema = z.object({
  providers: csvList()
    .default(DEFAULT_PROVIDERS.split(','))
    .describe(
      `Provider chain in fallback order (comma list). \`synthetic\` or \`replay\` for offline data; the default chain is the live providers that need no key.`,
    ),
  lakeDir: z
    .string()
    .optional()
    .describe(
      'Folder of the embedded lake. Default `./data/lake`, or `./data/lake-synthetic` when PROVIDERS includes synthetic, so made-up prices never mix into a live lake.',
    ),
});
export type LakeLocationConfig = z.infer<typeof lakeLocationSchema>;

/** True when the chain produces made-up prices. */
export function isSyntheticChain(providers: readonly string[]): boolean {
  return providers.some((name) => SYNTHETIC_PROVIDERS.includes(name));
}

/** The lake folder to use: the configured one, else the default for the chain. */
export function resolveLakeDir(config: LakeLocationConfig): string {
  if (config.lakeDir) return config.lakeDir;
  return isSyntheticChain(config.providers) ? './data/lake-synthetic' : './data/lake';
}

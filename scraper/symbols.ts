import { SYMBOL_TABLE, type TableIds } from './symbol-table.ts';

/**
 * How each provider names a coin; the ids are in `symbol-table.ts`. A provider without an entry
 * for a symbol does not ask for it (the symbol falls back to the next provider): Binance and
 * Kraken reject a whole multi-symbol request when one name is unknown, so names are never
 * guessed for them (a pair they stop listing is found and left out: `unlisted-symbols.ts`).
 * Coinbase and CoinMarketCap take the ticker itself, so any symbol works there.
 */
export interface ProviderIds extends TableIds {
  /** Coinbase Exchange product id. */
  coinbase: string;
  /** CoinMarketCap ticker. */
  coinmarketcap: string;
}

/**
 * The symbols the table has ids for: about the 100 largest coins, each known to CoinGecko, to
 * CoinCap, Binance and Kraken only where the table says so.
 */
export const KNOWN_SYMBOLS: readonly string[] = Object.keys(SYMBOL_TABLE);

/** How each provider names `symbol` (upper-case ticker); ids a provider lacks are absent. */
export function providerIds(symbol: string): ProviderIds {
  return { ...SYMBOL_TABLE[symbol], coinbase: `${symbol}-USD`, coinmarketcap: symbol };
}

/**
 * The provider's id of each symbol it knows, mapped back to the symbol: `{ bitcoin: 'BTC' }` for
 * CoinGecko. Symbols the provider has no id for are left out (they fall back to the next provider).
 */
export function symbolsById(symbols: string[], provider: 'coingecko' | 'coincap' | 'binance'): Map<string, string> {
  const byId = new Map<string, string>();
  for (const symbol of symbols) {
    const id = providerIds(symbol)[provider];
    if (id) byId.set(id, symbol);
  }
  return byId;
}

/** Exchange and aggregator spellings of the same coin. */
const ALIASES: Record<string, string> = {
  XBT: 'BTC',
  XXBT: 'BTC',
  XETH: 'ETH',
  XXRP: 'XRP',
  XDG: 'DOGE',
  XXDG: 'DOGE',
  XLTC: 'LTC',
  XXLM: 'XLM',
  XETC: 'ETC',
  XXMR: 'XMR',
  XZEC: 'ZEC',
};
const QUOTES = ['USDT', 'USDC', 'BUSD', 'ZUSD', 'USD'];
const TICKER = /^[A-Z0-9]{1,20}$/;

/**
 * The plain ticker of a pair or exchange name: `BTCUSDT`, `BTC-USD`, `BTC/USDT`, `XBT`,
 * `XXBTZUSD`, `btc` all give `BTC`. Returns `undefined` when nothing ticker-like is left.
 */
export function normaliseSymbol(raw: string): string | undefined {
  const upper = raw.trim().toUpperCase();
  const [base] = upper.split(/[-/_ :]/);
  let symbol = base ?? '';
  if (symbol === upper) {
    const bases = QUOTES.filter((q) => symbol.length > q.length && symbol.endsWith(q)).map((q) => symbol.slice(0, -q.length));
    // `SHIBUSD` reads as SHI/BUSD or SHIB/USD, `ARBUSD` as AR/BUSD or ARB/USD: the longest base the
    // table knows wins, else the first quote that fits.
    const known = bases.filter((b) => Object.hasOwn(SYMBOL_TABLE, ALIASES[b] ?? b)).sort((a, b) => b.length - a.length);
    symbol = known[0] ?? bases[0] ?? symbol;
  }
  symbol = ALIASES[symbol] ?? symbol;
  return TICKER.test(symbol) ? symbol : undefined;
}

/**
 * The ticker named in a data file's name, e.g. `binanceus_BTCUSDT_1m_2023.csv` -> `BTC`,
 * `exploratium_BTC-USD_daily.csv` -> `BTC`: the first part that is a coin against a USD quote.
 */
export function symbolFromFileName(fileName: string): string | undefined {
  const stem = fileName.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');
  for (const part of stem.split(/[_.\s]+/)) {
    if (/^[A-Za-z0-9]{2,10}[-/]?(USDT|USDC|BUSD|USD)$/i.test(part)) return normaliseSymbol(part);
  }
  return undefined;
}

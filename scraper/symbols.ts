/**
 * The one table that says how each provider names a coin. A provider without an entry for a
 * symbol does not ask for it (the symbol falls back to the next provider): Binance and Kraken
 * reject a whole multi-symbol request when one name is unknown, so names are never guessed
 * for them. Coinbase and CoinMarketCap take the ticker itself, so any symbol works there.
 */
export interface ProviderIds {
  /** CoinGecko coin id (`/coins/markets?ids=`). */
  coingecko?: string;
  /** CoinCap asset id (`/v3/assets?ids=`). */
  coincap?: string;
  /** Binance spot pair quoted in USDT. */
  binance?: string;
  /** Kraken pair to ask for, and the result keys it may come back under. */
  kraken?: { pair: string; keys: string[] };
  /** Coinbase Exchange product id. */
  coinbase: string;
  /** CoinMarketCap ticker. */
  coinmarketcap: string;
}

type KnownIds = Omit<ProviderIds, 'coinbase' | 'coinmarketcap'>;

const TABLE: Record<string, KnownIds> = {
  BTC: { coingecko: 'bitcoin', coincap: 'bitcoin', binance: 'BTCUSDT', kraken: { pair: 'XBTUSD', keys: ['XXBTZUSD', 'XBTUSD'] } },
  ETH: { coingecko: 'ethereum', coincap: 'ethereum', binance: 'ETHUSDT', kraken: { pair: 'ETHUSD', keys: ['XETHZUSD', 'ETHUSD'] } },
  SOL: { coingecko: 'solana', coincap: 'solana', binance: 'SOLUSDT', kraken: { pair: 'SOLUSD', keys: ['SOLUSD'] } },
  XRP: { coingecko: 'ripple', coincap: 'xrp', binance: 'XRPUSDT', kraken: { pair: 'XRPUSD', keys: ['XXRPZUSD', 'XRPUSD'] } },
  ADA: { coingecko: 'cardano', coincap: 'cardano', binance: 'ADAUSDT', kraken: { pair: 'ADAUSD', keys: ['ADAUSD'] } },
  DOGE: { coingecko: 'dogecoin', coincap: 'dogecoin', binance: 'DOGEUSDT', kraken: { pair: 'XDGUSD', keys: ['XDGUSD', 'XXDGZUSD'] } },
  LTC: { coingecko: 'litecoin', coincap: 'litecoin', binance: 'LTCUSDT', kraken: { pair: 'LTCUSD', keys: ['XLTCZUSD', 'LTCUSD'] } },
  DOT: { coingecko: 'polkadot', coincap: 'polkadot', binance: 'DOTUSDT', kraken: { pair: 'DOTUSD', keys: ['DOTUSD'] } },
  BNB: { coingecko: 'binancecoin', coincap: 'binance-coin', binance: 'BNBUSDT' },
  LINK: { coingecko: 'chainlink', coincap: 'chainlink', binance: 'LINKUSDT', kraken: { pair: 'LINKUSD', keys: ['LINKUSD'] } },
};

/** The symbols the table knows by name at every provider that needs an id. */
export const KNOWN_SYMBOLS: readonly string[] = Object.keys(TABLE);

/** How each provider names `symbol` (upper-case ticker); ids a provider lacks are absent. */
export function providerIds(symbol: string): ProviderIds {
  return { ...TABLE[symbol], coinbase: `${symbol}-USD`, coinmarketcap: symbol };
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
const ALIASES: Record<string, string> = { XBT: 'BTC', XXBT: 'BTC', XETH: 'ETH', XXRP: 'XRP', XDG: 'DOGE', XXDG: 'DOGE', XLTC: 'LTC' };
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
    const quote = QUOTES.find((q) => symbol.length > q.length && symbol.endsWith(q));
    if (quote) symbol = symbol.slice(0, -quote.length);
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

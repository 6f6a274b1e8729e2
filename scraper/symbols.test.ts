import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KNOWN_SYMBOLS, normaliseSymbol, providerIds, symbolFromFileName, symbolsById } from './symbols.ts';
import { SYMBOL_TABLE } from './symbol-table.ts';

describe('symbol table', () => {
  it('names BTC the way each provider does', () => {
    assert.deepEqual(providerIds('BTC'), {
      coingecko: 'bitcoin',
      coincap: 'bitcoin',
      binance: 'BTCUSDT',
      kraken: { pair: 'XBTUSD', keys: ['XXBTZUSD', 'XBTUSD'] },
      coinbase: 'BTC-USD',
      coinmarketcap: 'BTC',
    });
  });

  it('knows every default symbol at every provider that needs an id', () => {
    for (const symbol of ['BTC', 'ETH', 'SOL', 'XRP', 'ADA', 'DOGE']) {
      const ids = providerIds(symbol);
      assert.ok(KNOWN_SYMBOLS.includes(symbol));
      assert.ok(ids.coingecko && ids.coincap && ids.binance && ids.kraken, symbol);
    }
  });

  it('leaves unknown symbols to the providers that take tickers', () => {
    assert.deepEqual(providerIds('NOSUCHCOIN'), { coinbase: 'NOSUCHCOIN-USD', coinmarketcap: 'NOSUCHCOIN' });
  });

  it('normalises pair and exchange spellings to the ticker', () => {
    for (const raw of ['BTCUSDT', 'BTC-USD', 'BTC/USDT', 'XBT', 'XXBTZUSD', 'btc', 'BTCUSDC', 'XBTUSD'])
      assert.equal(normaliseSymbol(raw), 'BTC', raw);
    assert.equal(normaliseSymbol('XDGUSD'), 'DOGE');
    assert.equal(normaliseSymbol('SHIBUSD'), 'SHIB');
    assert.equal(normaliseSymbol('XXLMZUSD'), 'XLM');
    assert.equal(normaliseSymbol('ETH'), 'ETH');
    assert.equal(normaliseSymbol('USDT'), 'USDT');
    assert.equal(normaliseSymbol('??'), undefined);
  });

  it('finds the symbol in a data file name', () => {
    assert.equal(symbolFromFileName('/data/binanceus_BTCUSDT_1m_20230301_20230321.csv'), 'BTC');
    assert.equal(symbolFromFileName('exploratium_ETH-USD_daily.csv'), 'ETH');
    assert.equal(symbolFromFileName('kraken_BTCUSDC_1m_ohlcvt_2023Q1.csv'), 'BTC');
    assert.equal(symbolFromFileName('prices.ndjson'), undefined);
  });

  it('maps provider ids back to symbols and leaves out symbols a provider has no id for', () => {
    assert.deepEqual(
      [...symbolsById(['BTC', 'BNB', 'NOSUCHCOIN'], 'coingecko')],
      [
        ['bitcoin', 'BTC'],
        ['binancecoin', 'BNB'],
      ],
    );
    assert.deepEqual([...symbolsById(['BTC', 'NOSUCHCOIN'], 'binance')], [['BTCUSDT', 'BTC']]);
  });

  it('knows at least 100 symbols, each by a plain ticker and a CoinGecko id', () => {
    assert.ok(KNOWN_SYMBOLS.length >= 100, `${KNOWN_SYMBOLS.length} symbols`);
    for (const symbol of KNOWN_SYMBOLS) {
      assert.match(symbol, /^[A-Z0-9]{1,20}$/);
      assert.ok(providerIds(symbol).coingecko, symbol);
    }
  });

  it('names every Binance pair as its ticker (or an alias of it) against USDT', () => {
    for (const [symbol, ids] of Object.entries(SYMBOL_TABLE)) {
      if (!ids.binance) continue;
      assert.ok(ids.binance.endsWith('USDT'), ids.binance);
      assert.equal(normaliseSymbol(ids.binance), symbol, ids.binance);
    }
  });

  it('names every Kraken pair and result key as its ticker (or an alias of it) against USD', () => {
    for (const [symbol, ids] of Object.entries(SYMBOL_TABLE)) {
      if (!ids.kraken) continue;
      assert.ok(ids.kraken.keys.length > 0, symbol);
      for (const name of [ids.kraken.pair, ...ids.kraken.keys]) {
        assert.ok(name.endsWith('USD'), name);
        assert.equal(normaliseSymbol(name), symbol, name);
      }
    }
  });

  it('gives no two symbols the same id at any provider', () => {
    const names = {
      coingecko: (ids: (typeof SYMBOL_TABLE)[string]) => (ids.coingecko ? [ids.coingecko] : []),
      coincap: (ids: (typeof SYMBOL_TABLE)[string]) => (ids.coincap ? [ids.coincap] : []),
      binance: (ids: (typeof SYMBOL_TABLE)[string]) => (ids.binance ? [ids.binance] : []),
      kraken: (ids: (typeof SYMBOL_TABLE)[string]) => (ids.kraken ? [...new Set([ids.kraken.pair, ...ids.kraken.keys])] : []),
    };
    for (const [provider, namesOf] of Object.entries(names)) {
      const owner = new Map<string, string>();
      for (const [symbol, ids] of Object.entries(SYMBOL_TABLE)) {
        for (const name of namesOf(ids)) {
          assert.equal(owner.get(name) ?? symbol, symbol, `${provider} id ${name} is given to ${owner.get(name)} and ${symbol}`);
          owner.set(name, symbol);
        }
      }
    }
  });
});

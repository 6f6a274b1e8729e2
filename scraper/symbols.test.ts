import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KNOWN_SYMBOLS, normaliseSymbol, providerIds, symbolFromFileName, symbolsById } from './symbols.ts';

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
    assert.deepEqual(providerIds('PEPE'), { coinbase: 'PEPE-USD', coinmarketcap: 'PEPE' });
  });

  it('normalises pair and exchange spellings to the ticker', () => {
    for (const raw of ['BTCUSDT', 'BTC-USD', 'BTC/USDT', 'XBT', 'XXBTZUSD', 'btc', 'BTCUSDC', 'XBTUSD'])
      assert.equal(normaliseSymbol(raw), 'BTC', raw);
    assert.equal(normaliseSymbol('XDGUSD'), 'DOGE');
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
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gapId, type Gap } from '../core/records/gap.ts';
import { tradeId, type Trade } from '../core/records/trade.ts';
import { gapsDataset, tradesDataset } from './datasets.ts';
import { ParquetEncoder } from './parquet.ts';
import { openLakeReader, tempLake } from './testing/lake-reader.ts';

const TS = Date.UTC(2026, 10, 22, 10);

const trade = (overrides: Partial<Trade> = {}): Trade => ({
  id: tradeId('binance', 'BTCUSDT', 9_007_199_254_740),
  ts: TS,
  symbol: 'BTC',
  venue: 'binance',
  market: 'BTCUSDT',
  price: 97_000.5,
  qty: 0.012,
  side: 'buy',
  trade_id: 9_007_199_254_740,
  via: 'stream',
  ingested_at: TS + 40,
  ...overrides,
});

const gap = (overrides: Partial<Gap> = {}): Gap => ({
  id: gapId('kraken', 'BTC/USD', 1001, 1040),
  venue: 'kraken',
  market: 'BTC/USD',
  symbol: 'BTC',
  first_trade_id: 1001,
  last_trade_id: 1040,
  missing: 40,
  from_ts: TS,
  to_ts: TS + 5_000,
  cause: 'reconnect',
  reason: 'history does not go back that far',
  detected_at: TS + 9_000,
  ...overrides,
});

describe('the trades dataset', () => {
  const dataset = tradesDataset('trades');

  it('parses a valid trade and files it by its trade time', () => {
    const parsed = dataset.parse(JSON.stringify(trade()));
    assert.deepEqual(parsed, { ok: true, row: trade() });
    assert.equal(dataset.eventTime(trade()), TS);
    assert.equal(dataset.folder, 'trades');
    assert.deepEqual(dataset.table.sortBy, ['venue', 'market', 'trade_id']);
  });

  it('rejects a trade whose id does not match its venue, market and trade id, naming the field', () => {
    const parsed = dataset.parse(JSON.stringify(trade({ trade_id: 5 })));
    assert.deepEqual(parsed, { ok: false, reason: 'id: does not match venue, market and trade_id' });
  });

  it('rejects invalid fields and text that is not JSON, with the reason', () => {
    const negative = dataset.parse(JSON.stringify(trade({ qty: -1 })));
    assert.equal(negative.ok, false);
    assert.match((negative as { reason: string }).reason, /^qty: /);
    const venue = dataset.parse(JSON.stringify({ ...trade(), venue: 'mtgox' }));
    assert.match((venue as { reason: string }).reason, /^venue: /);
    assert.match((dataset.parse('{"id":') as { reason: string }).reason, /^not JSON: /);
  });

  it('writes trade ids as BIGINT, exactly, and times as TIMESTAMP', async () => {
    const encoder = await ParquetEncoder.open();
    const lake = await tempLake();
    const reader = await openLakeReader(lake.root);
    try {
      const rows = [trade(), trade({ id: tradeId('binance', 'BTCUSDT', 7), trade_id: 7, ts: TS - 1 })];
      await writeFile(join(lake.root, 'trades.parquet'), await encoder.encode(dataset.table, rows));
      const file = `'${join(lake.root, 'trades.parquet')}'`;
      const types = await reader.rows(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${file})`);
      assert.deepEqual(
        types.filter((t) => ['trade_id', 'ts', 'price'].includes(String(t.column_name))),
        [
          { column_name: 'ts', column_type: 'TIMESTAMP' },
          { column_name: 'price', column_type: 'DOUBLE' },
          { column_name: 'trade_id', column_type: 'BIGINT' },
        ],
      );
      const read = await reader.rows(`SELECT trade_id, epoch_ms(ts)::DOUBLE AS ts FROM ${file}`);
      assert.deepEqual(read, [
        { trade_id: 7n, ts: TS - 1 },
        { trade_id: 9_007_199_254_740n, ts: TS },
      ]);
    } finally {
      reader.close();
      await encoder.close();
      await lake.cleanup();
    }
  });
});

describe('the gaps dataset', () => {
  const dataset = gapsDataset('gaps');

  it('parses a valid gap and files it by the time before the hole', () => {
    assert.deepEqual(dataset.parse(JSON.stringify(gap())), { ok: true, row: gap() });
    assert.equal(dataset.eventTime(gap()), TS);
    assert.equal(dataset.folder, 'gaps');
  });

  it('rejects a gap with an unknown cause or no missing trades, naming the field', () => {
    assert.match((dataset.parse(JSON.stringify({ ...gap(), cause: 'gremlins' })) as { reason: string }).reason, /^cause: /);
    assert.match((dataset.parse(JSON.stringify(gap({ missing: 0 }))) as { reason: string }).reason, /^missing: /);
  });
});

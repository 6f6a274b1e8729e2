import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '../core/adapters/memory/bus.ts';
import { LocalObjectStore } from '../core/adapters/local-fs/object-store.ts';
import type { Bus } from '../core/ports/bus.ts';
import { silentLogger } from '../core/log.ts';
import { realPricesPath } from './testing/shared.ts';
import { read } from './testing/harness.ts';
import { backfillFile, type BackfillOptions } from './backfill.ts';

const FILE = realPricesPath('binanceus_BTCUSDT_1m_20230301_20230321.csv');
const ROWS = 30_240;

async function setup() {
  const bus = new MemoryBus({ partitions: 3 });
  const store = new LocalObjectStore(await mkdtemp(join(tmpdir(), 'cryptolake-backfill-')));
  const options = (over: Partial<BackfillOptions> = {}): BackfillOptions => ({
    bus,
    store,
    pricesTopic: 'prices',
    deadLetterTopic: 'dead',
    source: 'binanceus-btcusdt',
    chunkRows: 5_000,
    log: silentLogger,
    ...over,
  });
  const published = async () => [...(await bus.endOffsets('prices')).values()].reduce((a, b) => a + b, 0);
  const ids = async () => new Set((await read(bus, 'prices')).map((value) => (JSON.parse(value) as { id: string }).id));
  return { bus, store, options, published, ids };
}

describe('backfillFile', () => {
  it('publishes every row of a real minute file once, with its time range', async () => {
    const { options, published } = await setup();
    const summary = await backfillFile(FILE, options());
    assert.equal(summary.published, ROWS);
    assert.equal(summary.skipped, false);
    assert.equal(new Date(summary.firstTs!).toISOString(), '2023-03-01T00:00:00.000Z');
    assert.equal(new Date(summary.lastTs!).toISOString(), '2023-03-21T23:59:00.000Z');
    assert.equal(await published(), ROWS);
  });

  it('skips a file imported before, so running it twice publishes each record once', async () => {
    const { options, published } = await setup();
    await backfillFile(FILE, options());
    const again = await backfillFile(FILE, options());
    assert.equal(again.skipped, true);
    assert.equal(await published(), ROWS);
  });

  it('resumes an interrupted import after the last acknowledged chunk, without repeats', async () => {
    const { bus, options, published, ids } = await setup();
    let calls = 0;
    // The bus fails on the third prices chunk: two chunks are acknowledged and in the ledger.
    const failing: Bus = Object.create(bus) as Bus;
    failing.publish = async (topic, messages) => {
      if (topic === 'prices' && ++calls === 3) throw new Error('broker went away');
      return bus.publish(topic, messages);
    };
    await assert.rejects(backfillFile(FILE, options({ bus: failing })), /broker went away/);
    assert.equal(await published(), 10_000);
    const resumed = await backfillFile(FILE, options());
    assert.equal(resumed.published, ROWS);
    assert.equal(await published(), ROWS);
    assert.equal((await ids()).size, ROWS);
  });

  it('publishes a repeated timestamp of one file once', async () => {
    const { options, published } = await setup();
    const summary = await backfillFile(realPricesPath('cdd_Coinbase_BTCUSD_1h.csv'), options({ source: 'cdd-coinbase' }));
    assert.ok(summary.duplicates > 0, 'the file repeats some hours');
    assert.equal(await published(), summary.published);
  });
});

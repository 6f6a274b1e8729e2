import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryCache } from '../../core/adapters/memory/cache.ts';
import type { ProcessorStatus, StreamsStatus, VenueStreamStatus } from '../../core/records/status.ts';
import { StatusBoard } from '../../core/status-board.ts';
import { STREAM_STALE_AFTER_MS, streamsReport } from './streams.ts';

const NOW = Date.parse('2026-03-02T06:00:00Z');

function venue(name: string, connected: boolean, patch: Partial<VenueStreamStatus> = {}): VenueStreamStatus {
  return {
    venue: name,
    markets: ['BTC'],
    connected,
    connections: 1,
    tradesReceived: 100,
    tickersReceived: 5,
    duplicatesDropped: 1,
    malformedFrames: 0,
    tradesMissed: 10,
    tradesRefilled: 10,
    tradesCoveredByReplicas: 0,
    gapsRecorded: 0,
    buffered: 0,
    paused: false,
    lastTradeAt: NOW - 1_000,
    lastError: connected ? null : 'socket closed (1006)',
    lastErrorAt: connected ? null : NOW - 2_000,
    ...patch,
  };
}

const reader = (instance: string, venues: VenueStreamStatus[], updatedAt = NOW - 1_000): StreamsStatus => ({
  part: 'streams',
  instance,
  updatedAt,
  venues,
});

function processor(instance: string, duplicates: Record<string, number>): ProcessorStatus {
  return {
    part: 'processor',
    instance,
    updatedAt: NOW,
    recordsWritten: 1_000,
    duplicatesDropped: Object.values(duplicates).reduce((sum, n) => sum + n, 0),
    duplicatesDroppedByDataset: duplicates,
    deadLettered: 0,
    commits: 10,
    bufferedRecords: 0,
    bufferedBytes: 0,
    lastFlushAt: NOW,
    lastFlushMs: 20,
    lastError: null,
    lag: {},
  };
}

describe('GET /api/streams', () => {
  it('says so while no stream reader reports', async () => {
    const report = await streamsReport(new StatusBoard(new MemoryCache()), NOW);
    assert.deepEqual(report, {
      ok: false,
      detail: 'the stream reader is not reporting (no status in the shared cache)',
      venues: [],
      replicas: [],
      lake: { processors: 0, duplicatesDropped: {} },
    });
  });

  it('shows each replica with its connections, the venues over the replicas, and the duplicates every processor dropped', async () => {
    const board = new StatusBoard(new MemoryCache());
    await board.publish('streams', reader('host-a-1', [venue('binance', true, { connections: 3 }), venue('kraken', false)]));
    await board.publish('streams', reader('host-b-2', [venue('binance', true, { connections: 2 }), venue('kraken', true)]));
    await board.publish('processor', processor('p1', { trades: 900, prices: 4 }));
    await board.publish('processor', processor('p2', { trades: 100 }));
    const report = await streamsReport(board, NOW);
    assert.equal(report.ok, true, 'kraken is read by one replica');
    assert.equal(report.detail, '2 of 2 replicas reporting: 2 venues connected; kraken down on host-a-1');
    assert.deepEqual(
      report.replicas.map((replica) => [
        replica.instance,
        replica.reporting,
        replica.venues.map((v) => `${v.venue} ${v.connected} ${v.connections}`),
      ]),
      [
        ['host-a-1', true, ['binance true 3', 'kraken false 1']],
        ['host-b-2', true, ['binance true 2', 'kraken true 1']],
      ],
    );
    const binance = report.venues.find((v) => v.venue === 'binance')!;
    assert.deepEqual([binance.connected, binance.connections, binance.tradesReceived], [true, 5, 200]);
    const kraken = report.venues.find((v) => v.venue === 'kraken')!;
    assert.deepEqual([kraken.connected, kraken.lastError], [true, 'socket closed (1006)']);
    assert.deepEqual(report.lake, { processors: 2, duplicatesDropped: { trades: 1_000, prices: 4 } });
  });

  it('leaves a replica that stopped reporting out of the venues, and says when none reports', async () => {
    const board = new StatusBoard(new MemoryCache());
    const stale = NOW - STREAM_STALE_AFTER_MS - 1;
    await board.publish('streams', reader('killed', [venue('binance', true)], stale));
    await board.publish('streams', reader('alive', [venue('binance', false)]));
    const report = await streamsReport(board, NOW);
    assert.equal(report.ok, false);
    assert.equal(report.detail, '1 of 2 replicas reporting: 1 of 1 venues disconnected: binance (socket closed (1006))');
    assert.deepEqual(
      report.replicas.map((replica) => [replica.instance, replica.reporting]),
      [
        ['alive', true],
        ['killed', false],
      ],
    );
    const silent = await streamsReport(board, NOW + 60_000);
    assert.deepEqual([silent.ok, silent.detail, silent.venues], [false, 'no stream reader reported in the last 10 s', []]);
  });

  it('keeps the one-replica wording', async () => {
    const board = new StatusBoard(new MemoryCache());
    await board.publish('streams', reader('only', [venue('binance', true), venue('coinbase', true)]));
    assert.equal((await streamsReport(board, NOW)).detail, '2 venues connected');
  });
});

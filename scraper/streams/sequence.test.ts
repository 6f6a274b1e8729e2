import assert from 'node:assert/strict';
import { test } from 'node:test';
import { remainingRuns, TradeSequence } from './sequence.ts';

test('consecutive trade ids are all new and leave no hole', () => {
  const sequence = new TradeSequence();
  assert.deepEqual(
    [1, 2, 3].map((id) => sequence.accept(id, id * 10, 0)),
    ['new', 'new', 'new'],
  );
  assert.deepEqual(sequence.takeHoles(Infinity), []);
  assert.deepEqual(sequence.newest, { tradeId: 3, ts: 30 });
});

test('a skipped run of ids becomes a hole with the times around it', () => {
  const sequence = new TradeSequence();
  sequence.accept(1, 100, 0);
  sequence.accept(5, 500, 7);
  assert.equal(sequence.missing, 3);
  assert.deepEqual(sequence.takeHoles(Infinity), [{ first: 2, last: 4, fromTs: 100, toTs: 500, openedAt: 7, cause: 'sequence' }]);
  assert.equal(sequence.missing, 0);
});

test('a late trade fills its hole and splits it; a repeated one is a duplicate', () => {
  const sequence = new TradeSequence();
  sequence.accept(1, 1, 0);
  sequence.accept(10, 10, 0);
  assert.equal(sequence.accept(5, 5, 0), 'late');
  assert.equal(sequence.accept(5, 5, 0), 'duplicate');
  assert.equal(sequence.accept(10, 10, 0), 'duplicate');
  assert.equal(sequence.accept(1, 1, 0), 'duplicate');
  assert.deepEqual(
    sequence.takeHoles(Infinity).map(({ first, last }) => [first, last]),
    [
      [2, 4],
      [6, 9],
    ],
  );
});

test('holes wait for the reorder window before they are taken', () => {
  const sequence = new TradeSequence();
  sequence.accept(1, 1, 1_000);
  sequence.accept(3, 3, 1_000);
  assert.deepEqual(sequence.takeHoles(999), []);
  assert.equal(sequence.takeHoles(1_000).length, 1);
});

test('the next hole after a dropped connection is blamed on the reconnect, later ones on the sequence', () => {
  const sequence = new TradeSequence();
  sequence.accept(1, 1, 0);
  sequence.expectHole('reconnect');
  sequence.accept(2, 2, 0);
  sequence.accept(4, 4, 0);
  sequence.accept(6, 6, 0);
  assert.deepEqual(
    sequence.takeHoles(Infinity).map((hole) => hole.cause),
    ['reconnect', 'sequence'],
  );
});

test('a sequence started from a mark blames what was missed before the first trade on the restart', () => {
  const sequence = new TradeSequence({ mark: { tradeId: 100, ts: 5 } });
  sequence.expectHole('reconnect');
  assert.equal(sequence.accept(99, 4, 0), 'duplicate', 'a trade up to the mark was published before');
  sequence.accept(104, 9, 0);
  sequence.accept(107, 12, 0);
  assert.deepEqual(
    sequence.takeHoles(Infinity).map(({ first, last, fromTs, cause }) => [first, last, fromTs, cause]),
    [
      [101, 103, 5, 'restart'],
      [105, 106, 9, 'sequence'],
    ],
  );
});

test('a restart that missed nothing leaves no cause behind for a later hole', () => {
  const sequence = new TradeSequence({ mark: { tradeId: 100, ts: 5 } });
  sequence.accept(101, 6, 0);
  sequence.accept(103, 8, 0);
  assert.deepEqual(
    sequence.takeHoles(Infinity).map((hole) => hole.cause),
    ['sequence'],
  );
});

test('a sequence started with holes from the lake keeps them open, below the mark, until taken', () => {
  const sequence = new TradeSequence({
    mark: { tradeId: 100, ts: 50 },
    holes: [
      { first: 10, last: 12, fromTs: 9, toTs: 13 },
      { first: 120, last: 130, fromTs: 0, toTs: 0 },
    ],
    at: 1_000,
  });
  assert.deepEqual(sequence.open, [{ first: 10, last: 12, fromTs: 9, toTs: 13, openedAt: 1_000, cause: 'restart' }]);
  assert.equal(sequence.accept(11, 11, 0), 'late', 'a trade of a hole from the lake fills it');
  assert.deepEqual(sequence.newest, { tradeId: 100, ts: 50 });
  assert.deepEqual(
    sequence.takeHoles(1_000).map(({ first, last }) => [first, last]),
    [
      [10, 10],
      [12, 12],
    ],
  );
});

test('remainingRuns lists the ids still missing, walking only the ids got', () => {
  assert.deepEqual(remainingRuns({ first: 1, last: 10 }, [2, 3, 7, 42]), [
    { first: 1, last: 1 },
    { first: 4, last: 6 },
    { first: 8, last: 10 },
  ]);
  assert.deepEqual(remainingRuns({ first: 1, last: 3 }, [1, 2, 3]), []);
  assert.deepEqual(remainingRuns({ first: 1, last: 1e12 }, [1e12]), [{ first: 1, last: 1e12 - 1 }]);
});

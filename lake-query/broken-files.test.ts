import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { recordingLogger } from '../core/testing/log.ts';
import { BrokenFiles, brokenFileIn } from './broken-files.ts';

const DATA = '/srv/lake/';
const FILE = 'main/prices/year=2026/month=3/day=2/ducklake-01a2.parquet';

describe('broken data files', () => {
  it("finds the file in DuckDB's errors, relative to the data path, and says what is wrong", () => {
    const cases: [string, string, RegExp][] = [
      [
        `Invalid Input Error: Invalid footer length provided for file '${DATA}${FILE}'`,
        DATA,
        /^not a readable Parquet file \(truncated or damaged\): Invalid Input Error: Invalid footer length provided for file 'main\//,
      ],
      [`IO Error: Could not read enough bytes from file "${DATA}${FILE}": attempted to read 8 bytes`, DATA, /^not a readable Parquet file/],
      [`IO Error: Cannot open file "${DATA}${FILE}": No such file or directory`, DATA, /^missing: /],
      [`HTTP Error: HTTP GET error on 's3://bucket/lake/${FILE}' (HTTP 404)`, 's3://bucket/lake/', /^missing: /],
      [
        `HTTP Error: HTTP GET error reading 'http://127.0.0.1:19000/bucket/lake/${FILE.replaceAll('=', '%3D')}' in region 'us-east-1' (HTTP 404 Not Found)`,
        's3://bucket/lake/',
        /^missing: /,
      ],
      [
        `IO Error: Could not read enough bytes from 'https://bucket.s3.example.com/lake/${FILE}'`,
        's3://bucket/lake/',
        /^not a readable Parquet file \(truncated or damaged\): IO Error: Could not read enough bytes from 'main\/prices\/year=2026\//,
      ],
      [`IO Error: Permission denied reading "${DATA}${FILE}"`, DATA, /^cannot be read: IO Error: Permission denied reading "main\/prices/],
    ];
    for (const [message, dataPath, problem] of cases) {
      const found = brokenFileIn(new Error(message), dataPath);
      assert.ok(found, message);
      assert.equal(found.path, FILE);
      assert.equal(found.table, 'prices');
      assert.match(found.problem, problem);
      assert.ok(!found.problem.includes(dataPath), found.problem);
      assert.doesNotMatch(found.problem, /https?:\/\/|bucket/, 'neither the endpoint nor the bucket reaches a client');
    }
    assert.equal(
      brokenFileIn(
        new Error(`HTTP Error: HTTP GET error reading 'http://127.0.0.1:19000/other/lake/${FILE}' (HTTP 404)`),
        's3://bucket/lake/',
      ),
      undefined,
      'an object of another bucket is not a lake file',
    );
    assert.equal(brokenFileIn(new Error('Binder Error: column "x" not found'), DATA), undefined);
    assert.equal(
      brokenFileIn(new Error(`IO Error: Cannot open file "/elsewhere/${FILE}"`), DATA),
      undefined,
      'a file outside the lake is not a lake file',
    );
  });

  it('keeps a file until the check finds it gone or readable, logging both ends once', async () => {
    const { log, lines } = recordingLogger();
    const files = new BrokenFiles(log, () => 1_000);
    files.report({ table: 'prices', path: FILE, problem: 'missing: x', foundBy: 'query' });
    files.report({ table: 'prices', path: FILE, problem: 'missing: x', foundBy: 'query' });
    assert.equal(lines.filter((line) => line.level === 40).length, 1, 'one WARN line however many queries trip on it');
    assert.deepEqual(files.health(), {
      ok: false,
      detail: `1 data file cannot be read: ${FILE} (missing: x); questions that need it answer 503`,
    });
    // The check does not flag it, but reading it still fails: kept.
    await files.reconcile(
      [],
      () => true,
      async () => true,
    );
    assert.equal(files.list().length, 1);
    // It reads again: cleared, and said so.
    await files.reconcile(
      [],
      () => true,
      async () => false,
    );
    assert.deepEqual(files.list(), []);
    assert.equal(files.health().ok, true);
    assert.ok(lines.some((line) => line.level === 30 && /reads again/.test(String(line.msg))));
    // Found by the check, then no longer one of the lake's files (maintenance rewrote its day): cleared.
    await files.reconcile(
      [{ table: 'prices', path: FILE, problem: 'truncated: 1 bytes, the catalog recorded 9', foundBy: 'check' }],
      () => true,
      async () => true,
    );
    assert.equal(files.list()[0]!.foundBy, 'check');
    await files.reconcile(
      [],
      () => false,
      async () => true,
    );
    assert.deepEqual(files.list(), []);
    assert.ok(lines.some((line) => /no longer part of the lake/.test(String(line.msg))));
  });
});

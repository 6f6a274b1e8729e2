import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandUsage, parseCommand, type CommandSpec } from './cli.ts';

const COMPACT = {
  name: 'compact',
  usage: 'npm run compact -- [options]',
  description: 'Merges the small files of each day.',
  flags: {
    dataset: { type: 'string', choices: ['prices', 'trades'], description: 'only this dataset' },
    day: { type: 'string', pattern: { regex: /^\d{4}-\d{2}-\d{2}$/, expected: 'a day as YYYY-MM-DD' }, description: 'only this day' },
    'target-bytes': { type: 'integer', min: 1, default: 134_217_728, value: 'BYTES', description: 'size to aim for' },
    'dry-run': { type: 'boolean', short: 'n', description: 'say what would be merged' },
  },
} satisfies CommandSpec;

const FILES = {
  name: 'backfill',
  usage: 'npm run backfill -- [options] <file>...',
  description: 'Imports files.',
  flags: { source: { type: 'string', value: 'NAME', description: 'the source' } },
  operands: [
    { name: 'file', description: 'a history file', many: true, check: (file) => (file.endsWith('.csv') ? undefined : 'not a CSV file') },
  ],
} satisfies CommandSpec;

const WRAPPER = {
  name: 'sql',
  usage: 'npm run sql -- [options] [duckdb arguments]',
  description: 'The DuckDB CLI on the lake.',
  flags: { 'print-init': { type: 'boolean', description: 'print the init SQL' } },
  passThrough: 'the DuckDB CLI',
} satisfies CommandSpec;

describe('command lines', () => {
  it('reads flags in every spelling, with defaults for the ones not given', () => {
    const reading = parseCommand(COMPACT, ['--dataset', 'trades', '--day=2026-11-22', '-n']);
    assert.ok('ok' in reading);
    const { flags } = reading.ok;
    assert.deepEqual(flags, { dataset: 'trades', day: '2026-11-22', 'target-bytes': 134_217_728, 'dry-run': true });
    // The types follow the spec: a flag with a default is never undefined.
    const bytes: number = flags['target-bytes'];
    assert.equal(bytes, 134_217_728);
    const defaults = parseCommand(COMPACT, []);
    assert.ok('ok' in defaults);
    assert.deepEqual(defaults.ok.flags, { dataset: undefined, day: undefined, 'target-bytes': 134_217_728, 'dry-run': false });
  });

  it('answers --help and -h with a usage text made from the spec', () => {
    for (const argv of [['--help'], ['-h'], ['--day', '2026-11-22', '--help']]) {
      const reading = parseCommand(COMPACT, argv);
      assert.ok('help' in reading, argv.join(' '));
      assert.equal(reading.help, commandUsage(COMPACT));
    }
    const text = commandUsage(COMPACT);
    assert.match(text, /^Usage: npm run compact -- \[options\]\n\nMerges the small files of each day\.\n\nOptions:\n/);
    assert.match(text, /\n {2}--dataset DATASET {2,}only this dataset \(one of prices, trades\)\n/);
    assert.match(text, /\n {2}--target-bytes BYTES {2,}size to aim for \(default: 134217728\)\n/);
    assert.match(text, /\n {2}-n, --dry-run {2,}say what would be merged\n/);
    assert.match(text, /\n {2}-h, --help {2,}show this help and exit\n$/);
    assert.match(commandUsage(FILES), /\nArguments:\n {2}<file>\.\.\. {2,}a history file\n/);
  });

  it('names the one problem of a bad command line in one line that points to --help', () => {
    const problems: [string[], string][] = [
      [['--foo'], 'compact: unknown option --foo (see --help)'],
      [['--foo=1'], 'compact: unknown option --foo (see --help)'],
      [['-x'], 'compact: unknown option -x (see --help)'],
      [['--day'], 'compact: option --day needs a value (see --help)'],
      [['--day', '22/11/2026'], 'compact: option --day: "22/11/2026" is not a day as YYYY-MM-DD (see --help)'],
      [['--dataset', 'gaps'], 'compact: option --dataset: "gaps" is not one of prices, trades (see --help)'],
      [['--target-bytes', '1e9'], 'compact: option --target-bytes: "1e9" is not a whole number (see --help)'],
      [['--target-bytes', '0'], 'compact: option --target-bytes: "0" is below 1 (see --help)'],
      [['--dry-run=yes'], 'compact: option --dry-run takes no value (see --help)'],
      [['stray'], 'compact: unexpected argument "stray" (see --help)'],
    ];
    for (const [argv, problem] of problems) assert.deepEqual(parseCommand(COMPACT, argv), { problem }, argv.join(' '));
    assert.deepEqual(parseCommand(FILES, ['--source', 'kraken']), { problem: 'backfill: missing <file>... (see --help)' });
    assert.deepEqual(parseCommand(FILES, ['a.csv', 'b.txt']), { problem: 'backfill: <file> "b.txt": not a CSV file (see --help)' });
  });

  it('takes every operand, and arguments after -- as operands even when they look like flags', () => {
    const reading = parseCommand(FILES, ['a.csv', '--source', 'kraken', 'b.csv', '--', '--odd-name.csv']);
    assert.ok('ok' in reading);
    assert.deepEqual(reading.ok.operands, ['a.csv', 'b.csv', '--odd-name.csv']);
    assert.equal(reading.ok.flags.source, 'kraken');
  });

  it("hands a wrapper's unknown arguments on whole and in order, keeping only its own flags", () => {
    const reading = parseCommand(WRAPPER, ['-header', '-c', 'SELECT 1', '--print-init', '-json', '--', '-h']);
    assert.ok('ok' in reading);
    assert.deepEqual(reading.ok.rest, ['-header', '-c', 'SELECT 1', '-json', '-h']);
    assert.equal(reading.ok.flags['print-init'], true);
    assert.ok('help' in parseCommand(WRAPPER, ['-c', 'SELECT 1', '-h']));
  });
});

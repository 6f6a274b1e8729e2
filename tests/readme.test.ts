import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { configMarkdown } from '../scripts/config-docs.ts';

const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');

describe('README.md', () => {
  it('has the configuration tables the zod schemas generate (npm run docs:config)', () => {
    const start = readme.indexOf('<!-- config:start');
    const end = readme.indexOf('<!-- config:end -->');
    const section = readme.slice(readme.indexOf('\n', start) + 1, end).trim();
    assert.equal(section, configMarkdown().trim());
  });

  it('shows the two commands: run it and test it', () => {
    assert.match(readme, /^npm install && npm start/m);
    assert.match(readme, /^npm test/m);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { configMarkdown } from '../scripts/config-docs.ts';
import { declaredMetrics, metricsMarkdown } from '../scripts/metrics-docs.ts';
import { Metrics } from '../core/metrics.ts';

const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');

describe('README.md', () => {
  it('has the configuration tables the zod schemas generate (npm run docs:config)', () => {
    const start = readme.indexOf('<!-- config:start');
    const end = readme.indexOf('<!-- config:end -->');
    const section = readme.slice(readme.indexOf('\n', start) + 1, end).trim();
    assert.equal(section, configMarkdown().trim());
  });

  it('lists every metric the parts declare, with its type, labels and help (npm run docs:metrics)', () => {
    const start = readme.indexOf('<!-- metrics:start');
    const end = readme.indexOf('<!-- metrics:end -->');
    const section = readme.slice(readme.indexOf('\n', start) + 1, end).trim();
    assert.equal(section, metricsMarkdown().trim());
  });

  it('names only metrics that follow the conventions: part prefix, unit suffix, no name declared twice', () => {
    const prefixes: Record<string, string> = { scraper: 'scraper_', processor: 'processor_', 'lake-query': 'lake_query_' };
    const seen = new Set<string>();
    for (const [part, docs] of declaredMetrics()) {
      assert.ok(docs.length > 0, `${part} declares metrics`);
      for (const doc of docs) {
        assert.ok(doc.name.startsWith(prefixes[part.split(':')[0]!]!), `${doc.name} starts with its part (${part})`);
        assert.ok(!seen.has(doc.name), `${doc.name} is declared once`);
        seen.add(doc.name);
        if (doc.type === 'histogram') assert.match(doc.name, /_(seconds|bytes|records)$/, `${doc.name} names its unit`);
        assert.ok(doc.help.endsWith('.'), `${doc.name}'s help is a sentence`);
      }
    }
  });

  it('names default process and runtime metrics that each process really exports', async () => {
    const text = await new Metrics({ processMetrics: true }).text();
    const start = readme.indexOf('### Metrics');
    const section = readme.slice(start, readme.indexOf('<!-- metrics:start', start));
    const named = [...section.matchAll(/`((?:process|nodejs)_[a-z_]+)`/g)].map((match) => match[1]!);
    assert.ok(named.length >= 5, `the README names ${named.length} default metrics`);
    for (const name of named) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is exported`);
  });

  it('shows the two commands: run it and test it', () => {
    assert.match(readme, /^npm install && npm start/m);
    assert.match(readme, /^npm test/m);
  });
});

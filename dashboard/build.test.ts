import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDashboard } from './build.ts';

describe('dashboard build', () => {
  it('produces index.html, a CSS file and a JS bundle that reference only files that exist', async () => {
    const outDir = `${await mkdtemp(join(tmpdir(), 'cryptolake-dashboard-'))}/`;
    try {
      const started = performance.now();
      await buildDashboard(outDir);
      assert.ok(performance.now() - started < 5_000, 'the build takes seconds at most');
      const html = await readFile(join(outDir, 'index.html'), 'utf8');
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((ref) => !/^(#|data:)/.test(ref));
      assert.deepEqual(assets.sort(), ['app.css', 'app.js', 'reference.html']);
      for (const asset of assets) await access(join(outDir, asset));
      const js = await readFile(join(outDir, 'app.js'), 'utf8');
      // One self-contained bundle: no imports of other chunks or bare packages left for the browser.
      assert.doesNotMatch(js, /\bimport\s*[^(]*?from\s*["']/);
      assert.doesNotMatch(js, /\bimport\(["']/);
      for (const map of js.matchAll(/sourceMappingURL=(\S+)/g)) await access(join(outDir, map[1]!));
      assert.match(js, /SYNTHETIC|synthetic/);
      const css = await readFile(join(outDir, 'app.css'), 'utf8');
      assert.ok(css.length > 500, 'the stylesheet is bundled');
      for (const id of [
        'synthetic',
        'latest',
        'chart',
        'intervals',
        'ranges',
        'providers',
        'pipeline',
        'partitions',
        'sql-input',
        'live',
        'theme',
      ])
        assert.match(html, new RegExp(`id="${id}"`));
      assert.match(html, /href="reference\.html"/, 'the dashboard links the API reference');
      const reference = await readFile(join(outDir, 'reference.html'), 'utf8');
      const referenceAssets = [...reference.matchAll(/(?:src|href)="([^"]+)"/g)]
        .map((m) => m[1]!)
        .filter((ref) => !/^(#|data:|\/)/.test(ref));
      assert.deepEqual(referenceAssets.sort(), ['reference.css', 'reference.js']);
      for (const asset of referenceAssets) await access(join(outDir, asset));
      assert.doesNotMatch(reference, /https?:\/\//, 'nothing is loaded from another site');
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  });
});

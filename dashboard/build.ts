import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Builds the dashboard into `dashboard/dist/`: `index.html`, `app.js` (bundled, minified, ES2022)
 * and `app.css`, and the API reference page `reference.html` with `reference.js` and
 * `reference.css`. Everything is bundled: the pages load nothing from another site. lake-query
 * serves that folder at `/`. Run with `npm run build:dashboard`.
 */
export async function buildDashboard(outDir = fileURLToPath(new URL('./dist/', import.meta.url))): Promise<string> {
  const src = fileURLToPath(new URL('./src/', import.meta.url));
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { app: `${src}main.ts`, reference: `${src}reference.ts` },
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    sourcemap: 'linked',
    conditions: ['production'],
    logLevel: 'warning',
  });
  await copyFile(`${src}index.html`, `${outDir}index.html`);
  await copyFile(`${src}reference.html`, `${outDir}reference.html`);
  return outDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const outDir = await buildDashboard();
  console.log(`Built the dashboard into ${outDir} in ${Math.round(performance.now() - started)} ms`);
}

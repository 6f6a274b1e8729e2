import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { builtinModules } from 'node:module';

const root = fileURLToPath(new URL('..', import.meta.url));

interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

/** What the runtime stage of the Dockerfile copies from the build stage: `./core`, `./main.ts`, ... */
function runtimeRoots(dockerfile: string): string[] {
  return [...dockerfile.matchAll(/^COPY --from=build \S+ \/app\/(\S+) \.\/\S*$/gm)]
    .map((match) => match[1]!)
    .filter((path) => path !== 'node_modules' && path !== 'package.json' && !path.startsWith('dashboard/dist'));
}

/** Whether `.dockerignore` leaves a path out of the image (the patterns this project uses). */
function ignoredByDocker(path: string): boolean {
  if (path.endsWith('.test.ts') || path.endsWith('.contract.ts')) return true;
  const segments = path.split('/');
  return segments.includes('testing') && !path.startsWith('scraper/streams/testing');
}

async function sourceFiles(path: string): Promise<string[]> {
  if (path.endsWith('.ts')) return [path];
  const entries = await readdir(`${root}${path}`, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => `${entry.parentPath.slice(root.length)}/${entry.name}`);
}

/** The packages a source file loads at run time: static and dynamic imports, not `import type`. */
function importedPackages(source: string): string[] {
  const specifiers = [
    ...[...source.matchAll(/^import (?!type\b)[^;]*?from '([^']+)'/gms)].map((match) => match[1]!),
    ...[...source.matchAll(/^import '([^']+)'/gm)].map((match) => match[1]!),
    ...[...source.matchAll(/\bimport\('([^']+)'\)/g)].map((match) => match[1]!),
    ...[...source.matchAll(/createRequire\([^)]*\)\('([^']+)'\)/g)].map((match) => match[1]!),
  ];
  return specifiers
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:') && !builtinModules.includes(specifier))
    .map((specifier) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/'),
    );
}

async function packagesImportedUnder(paths: string[]): Promise<Map<string, string[]>> {
  const byPackage = new Map<string, string[]>();
  for (const path of paths) {
    for (const file of (await sourceFiles(path)).filter((file) => !ignoredByDocker(file))) {
      for (const name of importedPackages(await readFile(`${root}${file}`, 'utf8'))) {
        byPackage.set(name, [...(byPackage.get(name) ?? []), file]);
      }
    }
  }
  return byPackage;
}

describe('package.json dependencies', () => {
  it('are exactly what the runtime image imports, plus tsx that runs it', async () => {
    const pkg = JSON.parse(await readFile(`${root}package.json`, 'utf8')) as PackageJson;
    const dockerfile = await readFile(`${root}Dockerfile`, 'utf8');
    const roots = runtimeRoots(dockerfile);
    assert.ok(roots.includes('core') && roots.includes('main.ts'), `the runtime copies ${roots.join(', ')}`);
    const imported = await packagesImportedUnder(roots);

    const missing = [...imported.keys()].filter((name) => !(name in pkg.dependencies));
    assert.deepEqual(
      missing.map((name) => `${name} (${imported.get(name)![0]})`),
      [],
      'imported at run time but not in dependencies: npm prune --omit=dev would remove them from the image',
    );
    assert.match(dockerfile, /^ENTRYPOINT \["node", "--import", "tsx"\]$/m, 'the image runs the sources through tsx');
    const unused = Object.keys(pkg.dependencies).filter((name) => !imported.has(name) && name !== 'tsx');
    assert.deepEqual(unused, [], 'in dependencies but imported by nothing the image runs: they belong in devDependencies');
  });

  it('leave what only the page bundle uses to devDependencies', async () => {
    const pkg = JSON.parse(await readFile(`${root}package.json`, 'utf8')) as PackageJson;
    const page = await packagesImportedUnder(['dashboard/src']);
    assert.ok(page.has('lightweight-charts'), 'the page draws its charts with lightweight-charts');
    for (const name of page.keys()) {
      assert.ok(name in pkg.devDependencies, `${name} is bundled into dashboard/dist at build time: a devDependency`);
      assert.ok(!(name in pkg.dependencies), `${name} is not needed at run time`);
    }
  });
});

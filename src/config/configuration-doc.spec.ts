import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { loadConfig } from './app-config';

const ROOT = resolve(__dirname, '../..');
const DOC = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');

/** The variables listed in the first column of the table under `## <heading>`. */
function listedUnder(heading: string): Set<string> {
  const start = DOC.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`docs/configuration.md has no "## ${heading}" section`);
  const end = DOC.indexOf('\n## ', start + 1);
  const names = new Set<string>();
  for (const line of DOC.slice(start, end === -1 ? undefined : end).split('\n')) {
    const firstCell = /^\|([^|]*)\|/.exec(line)?.[1] ?? '';
    for (const [, name] of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(name);
  }
  return names;
}

/** Every name the configuration asks its environment for, whatever the values. */
function namesReadByConfig(): Set<string> {
  const read = new Set<string>();
  const env = new Proxy<Record<string, string | undefined>>(
    {},
    {
      get: (_, name) => {
        if (typeof name === 'string') read.add(name);
        return undefined;
      },
    },
  );
  loadConfig(env);
  // Also the literal names in its source, in case a read ever depends on another value.
  const source = readFileSync(join(__dirname, 'app-config.ts'), 'utf8');
  for (const [, name] of source.matchAll(/\(env, '([A-Z][A-Z0-9_]*)'/g)) read.add(name);
  return read;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|js|mjs)$/.test(entry.name))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** `process.env.NAME`, `process.env['NAME']`, and names given to the dev issuer's env helpers. */
function envReadsIn(files: string[]): Map<string, string> {
  const reads = new Map<string, string>();
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const patterns = [/process\.env\.([A-Z][A-Z0-9_]*)/g, /process\.env\[['"]([A-Z][A-Z0-9_]*)['"]\]/g];
    if (/process\.env\[[a-z]\w*\]/.test(text)) patterns.push(/\b(?:text|nonNegativeInt|positiveInt)\('([A-Z][A-Z0-9_]*)'/g);
    for (const pattern of patterns) for (const [, name] of text.matchAll(pattern)) reads.set(name, file);
  }
  return reads;
}

/** The operating system's own, not ours to document. */
const SYSTEM = new Set(['PATH', 'HOME']);

describe('docs/configuration.md', () => {
  it('lists every variable the gateway configuration reads', () => {
    const listed = listedUnder('The gateway');
    const missing = [...namesReadByConfig()].filter((name) => !listed.has(name));
    expect(missing).toEqual([]);
  });

  it('lists no gateway variable the configuration does not read', () => {
    const read = namesReadByConfig();
    expect([...listedUnder('The gateway')].filter((name) => !read.has(name))).toEqual([]);
  });

  it('nothing in src/ but the configuration reads process.env', () => {
    const readers = sourceFiles('src').filter(
      (file) =>
        !file.endsWith('.spec.ts') && file !== 'src/config/app-config.ts' && /process\.env\b/.test(readFileSync(join(ROOT, file), 'utf8')),
    );
    expect(readers).toEqual([]);
  });

  it.each([
    ['Development tools (`dev/`)', 'dev'],
    ['Tests and benchmarks', 'test'],
    ['Tests and benchmarks', 'bench'],
  ])('lists every variable read in %s (%s/)', (heading, dir) => {
    const listed = new Set([...listedUnder(heading), ...listedUnder('The gateway')]);
    const unlisted = [...envReadsIn(sourceFiles(dir))].filter(([name]) => !listed.has(name) && !SYSTEM.has(name));
    expect(unlisted.map(([name, file]) => `${name} (${file})`)).toEqual([]);
  });
});

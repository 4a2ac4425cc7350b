import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/*
 * Comments and documents cite `docs/API.md §5 rule 6`, `docs/API.md §5 "Background"` or
 * `docs/DESIGN.md "The open protocol"`: every cited section, rule and title must exist, so
 * a renamed section cannot leave the code pointing at nothing.
 */

const ROOT = resolve(__dirname, '..');

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && pattern.test(entry.name))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

const CITING = [
  ...['src', 'test', 'dev', 'bench'].flatMap((dir) => filesUnder(dir, /\.(ts|js|mjs)$/)),
  ...filesUnder('docs', /\.md$/),
  'README.md',
];

const API = readFileSync(join(ROOT, 'docs/API.md'), 'utf8');
const DESIGN = readFileSync(join(ROOT, 'docs/DESIGN.md'), 'utf8');

const normalise = (text: string): string => text.replace(/\s+/g, ' ').toLowerCase();
const headings = (doc: string): string[] => [...doc.matchAll(/^#{2,4} (.+)$/gm)].map(([, title]) => title.replace(/^\d+\. /, '').trim());

/** The text of `§n`, from its heading (`## n.` or, in the planned part, `### n.`) to the next numbered or top-level one. */
function apiSection(n: string): string | undefined {
  const lines = API.split('\n');
  const start = lines.findIndex((line) => new RegExp(`^#{2,3} ${n}\\. `).test(line));
  if (start === -1) return undefined;
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => /^#{2,3} \d+\. /.test(line) || /^## /.test(line));
  return [lines[start], ...(end === -1 ? rest : rest.slice(0, end))].join('\n');
}

/** What is wrong with one citation's tail (the text right after `API.md` or `DESIGN.md`), if anything. */
function problemsOf(doc: 'API' | 'DESIGN', tail: string): string[] {
  const problems: string[] = [];
  let section: string | undefined;
  const token = /^(?:\s*(?:,|and|–))?\s*(§(\d+)|–§(\d+)|rules? (\d+(?:, \d+)*)|rule (\d+)|"([^"]+)")/;
  for (let rest = tail, m = token.exec(rest); m; rest = rest.slice(m[0].length), m = token.exec(rest)) {
    const [, , number, rangeEnd, rules, rule, quoted] = m;
    if (doc === 'DESIGN') {
      if (quoted === undefined) break;
      if (!headings(DESIGN).includes(quoted)) problems.push(`docs/DESIGN.md has no section "${quoted}"`);
      continue;
    }
    if (number !== undefined || rangeEnd !== undefined) {
      const from = Number(number ?? section);
      const to = Number(rangeEnd ?? number);
      for (let n = from; n <= to; n++) if (!apiSection(String(n))) problems.push(`docs/API.md has no §${n}`);
      section = rangeEnd ?? number;
    } else if (rules !== undefined || rule !== undefined) {
      const text = section ? (apiSection(section) ?? '') : '';
      for (const r of (rules ?? rule).split(', ')) {
        if (!new RegExp(`^${r}\\. \\*\\*`, 'm').test(text)) problems.push(`docs/API.md §${section} has no rule ${r}`);
      }
    } else if (quoted !== undefined) {
      // A title within the section, or a phrase quoted from it.
      const text = section ? apiSection(section) : API;
      const found = text !== undefined && (headings(text).includes(quoted) || normalise(text).includes(normalise(quoted)));
      if (!found) problems.push(`docs/API.md ${section ? `§${section} ` : ''}has no "${quoted}"`);
    }
  }
  return problems;
}

describe('citations of docs/API.md and docs/DESIGN.md', () => {
  it('finds citations to check', () => {
    const count = CITING.reduce((n, file) => n + (readFileSync(join(ROOT, file), 'utf8').match(/API\.md §\d/g)?.length ?? 0), 0);
    expect(count).toBeGreaterThan(40);
  });

  it('cite sections, rules and titles that exist', () => {
    const problems: string[] = [];
    for (const file of CITING) {
      // Comment continuations (` * `, `// `) are joined, so a citation may wrap.
      const text = readFileSync(join(ROOT, file), 'utf8').replace(/\n\s*(?:\*|\/\/)?\s*/g, ' ');
      for (const match of text.matchAll(/\b(API|DESIGN)\.md(?![`\]#/])/g)) {
        const tail = text.slice(match.index + match[0].length, match.index + match[0].length + 120);
        for (const problem of problemsOf(match[1] as 'API' | 'DESIGN', tail)) problems.push(`${file}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('README and docs/ link only to files inside the repository', () => {
    const broken: string[] = [];
    for (const file of ['README.md', ...filesUnder('docs', /\.md$/)]) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target)) continue;
        const path = resolve(ROOT, dirname(file), target.split('#')[0]);
        if (!path.startsWith(`${ROOT}/`) || !existsSync(path)) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

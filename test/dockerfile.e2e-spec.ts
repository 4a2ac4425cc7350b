import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './support/process';

interface Stage {
  name: string;
  lines: string[];
}

/** The Dockerfile's stages, each with its instructions (continuation lines joined). */
function stages(): Stage[] {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const result: Stage[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) result.push({ name: from[1] ?? `stage${result.length}`, lines: [] });
    else result.at(-1)?.lines.push(line);
  }
  return result;
}

/** No Docker engine here: the image is checked by reading its build and by replaying its compile step. */
describe('production image (Dockerfile)', () => {
  it('has a build stage and a runtime stage that starts the compiled gateway', () => {
    const all = stages();
    expect(all.map((s) => s.name)).toEqual(['build', 'runtime']);
    const runtime = all[1].lines;
    expect(runtime).toContainEqual(expect.stringMatching(/^CMD \["node", "dist\/src\/main\.js"\]$/));
    expect(runtime).toContainEqual(expect.stringMatching(/^USER node$/));
    expect(runtime).toContainEqual(expect.stringMatching(/^HEALTHCHECK .*\/health/));
  });

  it('never copies dev/, test/ or bench/ into any stage, and removes compiled dev code', () => {
    for (const stage of stages()) {
      for (const line of stage.lines.filter((l) => /^(COPY|ADD)\b/i.test(l))) {
        expect(line).not.toMatch(/(^|\s|\/)(dev|test|bench)(\/|\s|$)/);
        expect(line).not.toMatch(/^COPY\s+\.\s/); // no "copy everything"
      }
    }
    const build = stages()[0].lines.join('\n');
    expect(build).toMatch(/rm -rf dist\/dev/);
    expect(build).toMatch(/npm prune --omit=dev/);
  });

  it('copies only package files, node_modules and dist/ into the runtime stage', () => {
    const copies = stages()[1].lines.filter((l) => /^COPY\b/.test(l));
    const sources = copies.map((l) => /\/app\/(\S+)\s+\S+$/.exec(l)?.[1]);
    expect(sources.sort()).toEqual(['dist', 'node_modules', 'package.json']);
  });

  it('compiles from exactly what the build stage copies (src/ does not depend on dev/)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-image-'));
    try {
      for (const item of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json', 'ormconfig.ts', 'src']) {
        cpSync(join(ROOT, item), join(dir, item), { recursive: true });
      }
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      const tsc = spawnSync(
        process.execPath,
        [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', 'dist', '--incremental', 'false'],
        {
          cwd: dir,
          encoding: 'utf8',
        },
      );
      expect(tsc.stdout + tsc.stderr).toBe('');
      expect(existsSync(join(dir, 'dist/src/main.js'))).toBe(true);
      expect(existsSync(join(dir, 'dist/dev'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

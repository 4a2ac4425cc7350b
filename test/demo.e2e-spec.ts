/**
 * `npm run demo` end to end (issue 6): `node dist/dev/demo.js` on a temporary DATA_DIR and
 * free ports starts the gateway (embedded database), the proxy-router simulator and the dev
 * identity provider; its banner's curl works exactly as printed; Ctrl-C stops every
 * process; a second run prints the same key; nothing secret lands in the repository.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureBuilt, freePort, ROOT } from './support/process';

jest.setTimeout(90_000);

const DEMO_SCRIPT = resolve(ROOT, 'dist/dev/demo.js');
const BANNER_END = 'Ctrl-C stops everything.';
/** The first run initialises the embedded database (slow on a busy machine). */
const BANNER_TIMEOUT_MS = 75_000;
const EXIT_TIMEOUT_MS = 20_000;
const KEY_SHAPE = /^sk-[A-Za-z0-9]{8}\.[A-Za-z0-9_-]{32,}$/;
const HEX32 = /^0x[0-9a-f]{64}$/;

interface Banner {
  swaggerUrl: string;
  key: string;
  login: string;
  curl: string;
}

interface ChildInfo {
  pid: number;
  cmdline: string;
  env: Record<string, string>;
}

interface DemoRun {
  child: ChildProcess;
  output(): string;
  banner: Banner;
  /** The demo's child processes (the gateway and the identity provider), read from /proc. */
  children: ChildInfo[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The environment of a run: nothing from the developer's shell but PATH (no DATABASE_URL, OIDC_*). */
interface DemoEnv {
  PORT: string;
  DEV_OIDC_PORT: string;
  SIM_PORT: string;
  MICROSERVICE_PORT: string;
  DATA_DIR: string;
}

function parseBanner(output: string): Banner {
  const lines = output.split('\n');
  const field = (label: string): string => {
    const line = lines.find((l) => l.trimStart().startsWith(label));
    if (!line) throw new Error(`banner without "${label}":\n${output}`);
    return line.trimStart().slice(label.length).trim();
  };
  const start = lines.findIndex((l) => l.trimStart().startsWith('curl '));
  if (start < 0) throw new Error(`banner without a curl command:\n${output}`);
  const curlLines = [lines[start]];
  while (curlLines[curlLines.length - 1].trimEnd().endsWith('\\') && start + curlLines.length < lines.length) {
    curlLines.push(lines[start + curlLines.length]);
  }
  return { swaggerUrl: field('Swagger UI'), key: field('API key'), login: field('Demo login'), curl: curlLines.join('\n').trim() };
}

/** Direct children of `pid`, with their command lines and environments (Linux /proc). */
function childrenOf(pid: number): ChildInfo[] {
  const found: ChildInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command (in parentheses, which may hold spaces): state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const env = Object.fromEntries(
        readFileSync(`/proc/${entry}/environ`, 'utf8')
          .split('\0')
          .filter(Boolean)
          .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
      );
      found.push({ pid: Number(entry), cmdline, env });
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is dead, only not reaped yet.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
function isListening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

async function startDemo(env: DemoEnv): Promise<DemoRun> {
  // Its own process group, as in a terminal, so Ctrl-C can be sent to the whole group.
  const child = spawn(process.execPath, [DEMO_SCRIPT], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  const deadline = Date.now() + BANNER_TIMEOUT_MS;
  while (!output.includes(BANNER_END)) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the demo exited (${child.exitCode ?? child.signalCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`no banner within ${BANNER_TIMEOUT_MS} ms:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, output: () => output, banner: parseBanner(output), children: childrenOf(child.pid!), exited };
}

async function exitOf(run: DemoRun): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the demo did not exit within ${EXIT_TIMEOUT_MS} ms:\n${run.output()}`)), EXIT_TIMEOUT_MS);
  });
  try {
    return await Promise.race([run.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the banner's curl exactly as printed; a .curlrc adds the HTTP status after the body. */
function runPrintedCurl(command: string, curlHome: string): Promise<{ status: number; body: any; stderr: string }> {
  writeFileSync(join(curlHome, '.curlrc'), 'write-out = "\\n%{http_code}"\n');
  return new Promise((done, reject) => {
    execFile(
      'bash',
      ['-c', command],
      { env: { PATH: process.env.PATH ?? '', CURL_HOME: curlHome }, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`the printed curl failed: ${error.message}\n${stderr}`));
        const cut = stdout.lastIndexOf('\n');
        try {
          done({ status: Number(stdout.slice(cut + 1)), body: JSON.parse(stdout.slice(0, cut)), stderr });
        } catch {
          reject(new Error(`the printed curl did not answer JSON: ${stdout}`));
        }
      },
    );
  });
}

function git(args: string[]): string {
  const result = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** `git status --porcelain` entries (untracked files listed one by one). */
function porcelain(): Set<string> {
  return new Set(git(['status', '--porcelain', '--untracked-files=all']).split('\n').filter(Boolean));
}

/** Files of the repository tree that are not git-ignored (tracked, modified or new) holding any of `secrets`. */
function filesHolding(secrets: string[]): string[] {
  const files = git(['ls-files', '-z', '--cached', '--others', '--exclude-standard']).split('\0').filter(Boolean);
  return files.filter((file) => {
    const full = resolve(ROOT, file);
    try {
      if (!statSync(full).isFile() || statSync(full).size > 4 * 1024 * 1024) return false;
      const text = readFileSync(full, 'latin1');
      return secrets.some((secret) => text.includes(secret));
    } catch {
      return false; // deleted in the working tree (or meanwhile)
    }
  });
}

const running: ChildProcess[] = [];

describe('npm run demo (e2e)', () => {
  let dataDir: string;
  let curlHome: string;

  beforeAll(() => {
    ensureBuilt();
    if (!existsSync(DEMO_SCRIPT)) {
      const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
      if (build.status !== 0 || !existsSync(DEMO_SCRIPT))
        throw new Error(`${DEMO_SCRIPT} is missing and the build failed:\n${build.stdout}${build.stderr}`);
    }
    dataDir = mkdtempSync(join(tmpdir(), 'morpheus-demo-'));
    curlHome = mkdtempSync(join(tmpdir(), 'morpheus-demo-curl-'));
    mkdirSync(curlHome, { recursive: true });
  });

  afterAll(() => {
    // A failed test must not leave a demo behind: kill what is still running, group and all.
    for (const child of running) {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(curlHome, { recursive: true, force: true });
  });

  it('prints URL, key, login and a working curl; Ctrl-C stops everything; a second run prints the same key; no secret in the repository', async () => {
    const before = porcelain();
    const env: DemoEnv = {
      PORT: String(await freePort()),
      DEV_OIDC_PORT: String(await freePort()),
      SIM_PORT: String(await freePort()),
      MICROSERVICE_PORT: String(await freePort()),
      DATA_DIR: dataDir,
    };
    const gatewayUrl = `http://127.0.0.1:${env.PORT}`;

    // --- First run ------------------------------------------------------------------------
    const first = await startDemo(env);
    const { banner } = first;
    expect(banner.swaggerUrl).toBe(`${gatewayUrl}/docs`);
    expect(banner.key).toMatch(KEY_SHAPE);
    expect(banner.login).toContain(`http://127.0.0.1:${env.DEV_OIDC_PORT}`);
    expect(banner.login).toMatch(/any user name/);
    expect(banner.curl).toContain(`${gatewayUrl}/api/v1/session/modelsession?model_id=`);
    expect(banner.curl).toContain(banner.key);

    const docs = await fetch(banner.swaggerUrl);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger-ui');

    // The key is kept in DATA_DIR, readable by its owner only.
    const keyFile = join(dataDir, 'demo-key.json');
    expect(JSON.parse(readFileSync(keyFile, 'utf8'))).toEqual({ key: banner.key });
    expect(statSync(keyFile).mode & 0o077).toBe(0);

    // The curl, exactly as printed.
    const modelId = new URL(/'(http[^']+)'/.exec(banner.curl)![1]).searchParams.get('model_id');
    const opened = await runPrintedCurl(banner.curl, curlHome);
    expect(opened.status).toBe(200);
    expect(opened.body).toMatchObject({
      success: true,
      session_id: expect.stringMatching(HEX32),
      api_key_prefix: banner.key.split('.')[0],
      model: modelId,
    });

    // The demo's processes, their secrets (fresh per run), and every port they listen on.
    const gateway = first.children.find((c) => c.cmdline.includes('dist/src/main.js'));
    const issuer = first.children.find((c) => c.cmdline.includes('dev-issuer.mjs'));
    expect(gateway).toBeDefined();
    expect(issuer).toBeDefined();
    const secrets = [gateway!.env.OIDC_CLIENT_SECRET, gateway!.env.PROXY_ROUTER_PASSWORD, issuer!.env.DEV_OIDC_CLIENT_SECRET, banner.key];
    for (const secret of secrets) expect(secret).toEqual(expect.stringMatching(/.{16,}/));
    // The embedded database listens on a Unix socket inside DATA_DIR, never on a TCP port.
    const embedded = JSON.parse(readFileSync(join(dataDir, 'embedded-db.json'), 'utf8')) as { url: string };
    expect(new URL(embedded.url).searchParams.get('host')).toBe(resolve(dataDir));
    const dbSocket = join(dataDir, '.s.PGSQL.5432');
    expect(statSync(dbSocket).isSocket()).toBe(true);
    const ports = [env.PORT, env.DEV_OIDC_PORT, env.SIM_PORT, env.MICROSERVICE_PORT].map(Number);
    for (const port of ports) await expect(isListening(port)).resolves.toBe(true);

    // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
    process.kill(-first.child.pid!, 'SIGINT');
    await expect(exitOf(first)).resolves.toEqual({ code: 0, signal: null });
    for (const child of first.children) expect([child.cmdline, isRunning(child.pid)]).toEqual([child.cmdline, false]);
    for (const port of ports) expect([port, await isListening(port)]).toEqual([port, false]);
    expect(existsSync(dbSocket)).toBe(false);

    // --- Second run, same DATA_DIR: the same key ----------------------------------------
    const second = await startDemo(env);
    expect(second.banner.key).toBe(banner.key);
    expect(second.banner.curl).toBe(banner.curl);
    // The simulator starts empty each run: the printed curl opens a session the node knows,
    // not the previous run's one back from the gateway's database ("reused").
    const reopened = await runPrintedCurl(second.banner.curl, curlHome);
    expect(reopened).toMatchObject({ status: 200, body: { success: true, reused: false, session_id: expect.stringMatching(HEX32) } });
    expect(reopened.body.session_id).not.toBe(opened.body.session_id);
    const ping = await fetch(`${gatewayUrl}/api/v1/session/pingsession`, {
      method: 'POST',
      headers: { authorization: `Bearer ${banner.key}` },
    });
    await expect(ping.json()).resolves.toMatchObject({ status: 'alive', session_id: reopened.body.session_id });
    secrets.push(
      ...second.children
        .flatMap((c) => [c.env.OIDC_CLIENT_SECRET, c.env.PROXY_ROUTER_PASSWORD, c.env.DEV_OIDC_CLIENT_SECRET])
        .filter(Boolean),
    );

    // SIGINT to the demo process alone (`kill -INT <pid>`): it stops its children itself.
    process.kill(second.child.pid!, 'SIGINT');
    await expect(exitOf(second)).resolves.toEqual({ code: 0, signal: null });
    for (const child of second.children) expect([child.cmdline, isRunning(child.pid)]).toEqual([child.cmdline, false]);
    for (const port of [env.PORT, env.DEV_OIDC_PORT, env.SIM_PORT, env.MICROSERVICE_PORT].map(Number)) {
      expect([port, await isListening(port)]).toEqual([port, false]);
    }

    // --- Nothing secret in the repository ------------------------------------------------
    expect(filesHolding(secrets)).toEqual([]);
    // Nothing new outside git-ignored paths. (Other suites' TypeScript sources may appear
    // meanwhile when helpers work in parallel; the demo writes no TypeScript.)
    const added = [...porcelain()].filter((entry) => !before.has(entry) && !/\.ts$/.test(entry));
    expect(added).toEqual([]);
    // The default DATA_DIR (./data), where `npm run demo` keeps the key, is git-ignored.
    expect(spawnSync('git', ['check-ignore', '-q', 'data/demo-key.json'], { cwd: ROOT }).status).toBe(0);
  });
});

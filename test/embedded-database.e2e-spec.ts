import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureBuilt, freePort, ROOT, spawnNode, Spawned, waitForHttp } from './support/process';

/** The default with no DATABASE_URL: PGlite served in-process, reached through `pg`. */
describe('embedded database', () => {
  let parent: string;
  let dataDir: string;

  beforeAll(() => {
    ensureBuilt();
    parent = mkdtempSync(join(tmpdir(), 'gw-embedded-'));
    // A parent every local user may enter, like a home or /srv: only DATA_DIR's own mode protects it.
    chmodSync(parent, 0o755);
    dataDir = join(parent, 'data');
  });

  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  describe('the gateway started without DATABASE_URL', () => {
    let gateway: Spawned;
    let url: string;

    beforeAll(async () => {
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      gateway = spawnNode('dist/src/main.js', [], { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
      await waitForHttp(`${url}/health`, gateway, 60_000);
    }, 90_000);

    afterAll(async () => {
      expect(await gateway.stop()).toBe(0); // a clean shutdown on SIGTERM…
      expect(existsSync(join(dataDir, 'embedded-db.json'))).toBe(false); // …that released DATA_DIR
    });

    it('creates its schema and is ready', async () => {
      const ready = await fetch(`${url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ok', components: { database: { status: 'up' } } });
    });

    it('serves Swagger UI and the spec', async () => {
      const docs = await fetch(`${url}/docs`);
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain('swagger-ui');
      const spec = (await (await fetch(`${url}/api/v1/openapi.json`)).json()) as { components: { securitySchemes: object } };
      expect(Object.keys(spec.components.securitySchemes)).toEqual(['APIKeyAuth']);
    });

    it('accepts a key the CLI creates while it runs (the CLI attaches to its database)', async () => {
      const cli = spawnSync(process.execPath, ['dist/src/cli.js', 'keys', 'create', '--user', 'smoke'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, DATA_DIR: dataDir },
        encoding: 'utf8',
      });
      expect(cli.stderr).toBe('');
      const key = cli.stdout.trim();
      expect(key).toMatch(/^sk-[A-Za-z0-9]{8}\./);
      // Authenticated (403: keys cannot manage keys), not refused (401).
      expect((await fetch(`${url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(403);
      expect((await fetch(`${url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${key}x` } })).status).toBe(401);
    });

    it('keeps DATA_DIR (0700), its owner record and its socket (0600) private, and opens no TCP port', () => {
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      const ownerFile = join(dataDir, 'embedded-db.json');
      expect(statSync(ownerFile).mode & 0o777).toBe(0o600);
      const { url: dbUrl } = JSON.parse(readFileSync(ownerFile, 'utf8')) as { url: string };
      const socketDir = new URL(dbUrl).searchParams.get('host');
      expect(socketDir).toBe(dataDir);
      const socket = statSync(join(dataDir, '.s.PGSQL.5432'));
      expect(socket.isSocket()).toBe(true);
      expect(socket.mode & 0o777).toBe(0o600);
    });

    // Root can act as another user; elsewhere there is no second user to test with.
    (process.getuid?.() === 0 ? it : it.skip)('another local user can neither read the owner record nor connect to the database', () => {
      // A world-readable copy: the clone (wherever CI put it) may be private to its owner.
      const stage = mkdtempSync(join(tmpdir(), 'gw-intruder-'));
      chmodSync(stage, 0o755);
      const script = join(stage, 'intruder.js');
      copyFileSync(join(ROOT, 'test/fixtures/embedded-intruder.js'), script);
      chmodSync(script, 0o644);
      const intruder = spawnSync(process.execPath, [script, dataDir], {
        cwd: stage,
        env: { PATH: process.env.PATH },
        encoding: 'utf8',
        timeout: 30_000,
        uid: 65_534, // nobody
        gid: 65_534,
      });
      rmSync(stage, { recursive: true, force: true });
      expect(intruder.stderr).toBe('');
      expect(JSON.parse(intruder.stdout)).toEqual({
        readOwnerFile: false,
        connected: false,
        readKeyHashes: false,
        wrote: false,
        error: 'EACCES',
      });
    });

    it('refuses a second gateway on the same DATA_DIR instead of opening its files twice', async () => {
      const second = spawnNode('dist/src/main.js', [], {
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
      });
      expect(await new Promise((done) => second.child.once('exit', done))).not.toBe(0);
      expect(second.output()).toMatch(/in use by the gateway process/);
    });
  });

  it('keeps concurrent transactions isolated: 20 read-modify-write transactions under FOR UPDATE', () => {
    const result = spawnSync(process.execPath, ['test/fixtures/embedded-isolation.js', join(dataDir, 'isolation'), '20'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ count: 20 });
  });
});

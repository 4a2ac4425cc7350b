import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureBuilt, freePort, ROOT, spawnNode, Spawned, waitForHttp } from './support/process';

/** The default with no DATABASE_URL: PGlite served in-process, reached through `pg`. */
describe('embedded database', () => {
  let dataDir: string;

  beforeAll(() => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'gw-embedded-'));
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

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

/**
 * Unsafe deployments are refused at start (issue 11), by `node dist/src/main.js` itself: the
 * process exits 1 before it listens, naming the variable to set.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, freePort, spawnNode, Spawned, waitForHttp } from './support/process';

describe('the gateway refuses to start unsafely (e2e)', () => {
  let dataDir: string;

  beforeAll(() => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'gw-refusals-'));
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  async function exitOf(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
    const gateway = spawnNode('dist/src/main.js', [], {
      PORT: String(await freePort()),
      DATA_DIR: join(dataDir, 'refused'),
      LOG_LEVEL: 'warn',
      ...env,
    });
    const code = await new Promise<number | null>((done) => gateway.child.once('exit', done));
    return { code, output: gateway.output() };
  }

  it.each<[string, Record<string, string>, RegExp]>([
    ['an open /metrics on every interface (HOST 0.0.0.0, no METRICS_TOKEN)', { HOST: '0.0.0.0' }, /METRICS_TOKEN is required/],
    [
      'the embedded database with NODE_ENV=production',
      { HOST: '127.0.0.1', NODE_ENV: 'production' },
      /DATABASE_URL is required.*ALLOW_EMBEDDED_DB/,
    ],
    [
      'plain http:// to a remote node',
      { HOST: '127.0.0.1', PROXY_ROUTER_URL: 'http://node.example.com:8082' },
      /PROXY_ROUTER_URL.*ALLOW_INSECURE_UPSTREAMS/,
    ],
    [
      'plain http:// to a remote identity provider',
      { HOST: '127.0.0.1', OIDC_ISSUER_URL: 'http://idp.example.com' },
      /OIDC_ISSUER_URL.*ALLOW_INSECURE_UPSTREAMS/,
    ],
  ])('%s', async (_label, env, message) => {
    const { code, output } = await exitOf(env);
    expect(code).toBe(1);
    expect(output).toMatch(message);
    // Refused before anything started: not even DATA_DIR was created.
    expect(existsSync(join(dataDir, 'refused'))).toBe(false);
  });

  it('starts on every interface with METRICS_TOKEN, and /metrics then needs it', async () => {
    const port = await freePort();
    const token = 'startup-metrics-token-8c2f4e1a';
    const gateway: Spawned = spawnNode('dist/src/main.js', [], {
      PORT: String(port),
      HOST: '0.0.0.0',
      METRICS_TOKEN: token,
      DATA_DIR: join(dataDir, 'served'),
      LOG_LEVEL: 'warn',
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`, gateway, 60_000);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
  }, 90_000);
});

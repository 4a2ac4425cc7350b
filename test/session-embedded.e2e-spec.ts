/**
 * The core session flow on the embedded database (issue 4): the built gateway started
 * without DATABASE_URL (PGlite in its DATA_DIR) in front of the simulator, a key from the
 * CLI attached to it, then create → reuse → close.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Simulator, startSimulator } from '../dev/simulator';
import { bearer } from './support/app';
import { ensureBuilt, freePort, ROOT, spawnNode, type Spawned, waitForHttp } from './support/process';
import { chainTime, HEX32, onChain, sessionApi } from './support/kit';

jest.setTimeout(60_000);

/** Runs the built CLI as its own process (async: the simulator shares this event loop). */
function cli(dataDir: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/src/cli.js', ...args], { cwd: ROOT, env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

describe('sessions on the embedded database (e2e)', () => {
  let dataDir: string;
  let sim: Simulator;
  let gateway: Spawned;
  let api: ReturnType<typeof sessionApi>;

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'gw-session-embedded-'));
    sim = await startSimulator({ seed: 'session-embedded-e2e' });
    const port = await freePort();
    gateway = spawnNode('dist/src/main.js', [], {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      PROXY_ROUTER_URL: sim.url,
      LOG_LEVEL: 'warn',
    });
    await waitForHttp(`http://127.0.0.1:${port}/health`, gateway, 45_000);
    api = sessionApi(`http://127.0.0.1:${port}`);
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await sim?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('create, reuse, close with a key the CLI made', async () => {
    const made = await cli(dataDir, 'keys', 'create', '--user', 'embedded-session-user');
    expect(made).toMatchObject({ code: 0, stderr: '' });
    const key = made.stdout.trim();
    expect(key).toMatch(/^sk-[A-Za-z0-9]{8}\./);
    const auth = bearer(key);
    const model = sim.marketplace.liveModelIds[0];

    const created = await api.createForModel(auth, model, { body: { sessionDuration: 1800 } });
    expect(created.status).toBe(200);
    expect(created.body.session_id).toMatch(HEX32);
    const record = onChain(sim, created.body.session_id);
    expect(created.body).toEqual({
      success: true,
      message: 'Session created and associated with API key',
      session_id: record.id,
      api_key_prefix: key.split('.')[0],
      model,
      bid_id: record.bidId,
      provider: record.provider,
      expires_at: chainTime(record.endsAt),
      reused: false,
      replaced_session_id: null,
    });
    expect(record.endsAt - record.openedAt).toBe(1800n);

    const again = await api.createForModel(auth, model);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ session_id: record.id, reused: true, replaced_session_id: null });
    expect((await api.current(auth)).body).toMatchObject({ status: 'active', session_id: record.id });

    const closed = await api.close(auth);
    expect(closed.status).toBe(200);
    expect(closed.body).toEqual({ success: true, message: 'Session closed successfully', session_id: record.id });
    expect(onChain(sim, record.id).closedAt).toBeGreaterThan(0n);
    expect(await api.current(auth)).toMatchObject({ status: 404, body: { detail: 'No active session' } });
    expect(sim.counts()).toMatchObject({ openModel: 1, openBid: 0, close: 1 });
  });
});

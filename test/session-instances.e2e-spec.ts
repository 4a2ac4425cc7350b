/**
 * Two gateway instances (issue 4; docs/API.md §5 rules 1, 4, 6): two separate processes
 * (`node dist/src/main.js`) on one PostgreSQL database and one simulator.
 * - concurrent creates for one key split across the instances → exactly one open;
 * - a session created on A is reused on B;
 * - A killed (SIGKILL) in the middle of an open that reached the chain, then restarted →
 *   after one sweep the key has exactly the on-chain session, no `opening` row, one open.
 * Keys are made on the database as the CLI makes them. Build first (`npm run build`);
 * ensureBuilt() covers a fresh checkout.
 */
import { type Simulator, startSimulator } from '../dev/simulator';
import { createTestDatabase, type TestDatabase } from './support/database';
import {
  aKey,
  gatewayEnv,
  type GatewayProcess,
  type KeyMaker,
  keyStore,
  liveCount,
  openableModels,
  rowsOf,
  sessionApi,
  SIMULATOR,
  startGateway,
  waitFor,
} from './support/kit';
import { ensureBuilt } from './support/process';

jest.setTimeout(60_000);

const OPEN_TIMEOUT_MS = 3_000;
const SWEEP_INTERVAL_S = 1;

describe('two gateway instances on one database (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let env: Record<string, string>;
  let a: GatewayProcess;
  let b: GatewayProcess;
  let keys: KeyMaker & { close(): Promise<void> };
  let modelX: string;

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase('session_instances');
    sim = await startSimulator({ ...SIMULATOR, seed: 'session-instances' });
    env = gatewayEnv(db, sim, {
      SESSION_OPEN_TIMEOUT_MS: String(OPEN_TIMEOUT_MS),
      SESSION_SWEEP_INTERVAL_S: String(SWEEP_INTERVAL_S),
    });
    [a, b] = await Promise.all([startGateway(env, { process: true }), startGateway(env, { process: true })]);
    keys = await keyStore(db.url);
    [modelX] = openableModels(sim);
  });
  afterAll(async () => {
    sim?.control.releaseHeld();
    await keys?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await sim?.stop();
    await db?.drop();
  });
  beforeEach(() => sim.control.resetCounts());
  afterEach(() => sim.control.plan.reset());

  it('20 + 20 concurrent creates for one key split across two processes: exactly one open, one live row', async () => {
    const key = await aKey(keys);
    const [onA, onB] = [sessionApi(a.url), sessionApi(b.url)];
    // The open stays in flight while the other instance's callers claim: they must wait for it.
    sim.control.setLatency('openModel', 500);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? onA : onB).createForModel(key, modelX)));

    expect(answers.map((x) => x.status)).toEqual(Array(40).fill(200));
    const ids = new Set(answers.map((x) => x.body.session_id));
    expect(ids.size).toBe(1);
    expect(answers.filter((x) => x.body.reused === false)).toHaveLength(1);
    expect(sim.counts().openModel).toBe(1);
    expect(await liveCount(db, key.id)).toBe(1);
    const rows = await rowsOf(db, key.id);
    expect(rows.map((r) => [r.status, r.chain_session_id])).toEqual([['active', [...ids][0]]]);
  });

  it('a session created on A is reused on B: one open', async () => {
    const key = await aKey(keys);
    const created = await sessionApi(a.url).createForModel(key, modelX);
    expect(created.status).toBe(200);
    expect(created.body.reused).toBe(false);

    const reused = await sessionApi(b.url).createForModel(key, modelX);
    expect(reused.status).toBe(200);
    expect(reused.body).toMatchObject({ reused: true, session_id: created.body.session_id, replaced_session_id: null });
    const current = await sessionApi(b.url).current(key);
    expect(current.body).toMatchObject({ status: 'active', session_id: created.body.session_id });
    expect(sim.counts().openModel).toBe(1);
    expect((await rowsOf(db, key.id)).map((r) => r.status)).toEqual(['active']);
  });

  it('A killed (SIGKILL) during an open that reached the chain, then restarted: the session is adopted, never opened twice', async () => {
    const key = await aKey(keys);
    const before = new Set(sim.control.sessions().map((s) => s.id));
    // The node puts the open on chain and never answers: A is killed while it waits.
    sim.control.hangNext('openModel', { commit: true });
    const pending = sessionApi(a.url)
      .createForModel(key, modelX)
      .then(
        (answer) => ({ answered: answer.status }),
        () => ({ answered: 'connection lost' as const }),
      );
    await waitFor('the open to reach the node', async () => (sim.counts().openModel === 1 ? true : undefined), 2_000, 10);
    const intent = (await rowsOf(db, key.id)).map((r) => r.status);
    expect(intent).toEqual(['opening']);
    await a.stop('SIGKILL');
    expect(a.spawned.child.signalCode).toBe('SIGKILL');
    expect(await pending).toEqual({ answered: 'connection lost' });
    const onChain = sim.control.sessions().filter((s) => !before.has(s.id));
    expect(onChain).toHaveLength(1);
    // The crash left the intent behind.
    expect((await rowsOf(db, key.id)).map((r) => r.status)).toEqual(['opening']);

    const killedAt = Date.now();
    a = await startGateway(env, { process: true, port: a.port });
    // Stale once older than SESSION_OPEN_TIMEOUT_MS; then one sweep (of A or B) settles it.
    const rows = await waitFor(
      'the intent to be settled',
      async () => {
        const current = await rowsOf(db, key.id);
        return current.some((r) => r.status === 'opening') ? undefined : current;
      },
      OPEN_TIMEOUT_MS + 4 * SWEEP_INTERVAL_S * 1000 + 5_000,
      100,
    );
    const settledAfterMs = Date.now() - killedAt;
    console.log(
      `[crash] intent settled ${settledAfterMs} ms after the kill (open timeout ${OPEN_TIMEOUT_MS} ms, sweep every ${SWEEP_INTERVAL_S} s)`,
    );

    expect(rows.map((r) => [r.status, r.chain_session_id])).toEqual([['active', onChain[0].id]]);
    const current = await sessionApi(a.url).current(key);
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ status: 'active', session_id: onChain[0].id, model: modelX });
    // A few more sweeps change nothing, and the open was never sent again.
    await new Promise((r) => setTimeout(r, 2 * SWEEP_INTERVAL_S * 1000 + 200));
    expect(sim.counts().openModel).toBe(1);
    expect(
      sim.control
        .sessions()
        .filter((s) => !before.has(s.id))
        .map((s) => [s.id, s.closedAt]),
    ).toEqual([[onChain[0].id, 0n]]);
    expect((await rowsOf(db, key.id)).map((r) => [r.status, r.chain_session_id])).toEqual([['active', onChain[0].id]]);
    expect(await liveCount(db, key.id)).toBe(1);
  });
});

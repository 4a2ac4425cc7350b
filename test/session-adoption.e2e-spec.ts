/**
 * Adoption after an unknown outcome (docs/API.md §5 rule 6): only a session the
 * open could have created is adopted — open on chain, opened no earlier than a few seconds
 * before the send, absent from the wallet before it (the proof stored on the intent), owned
 * by no row, and only when that is unambiguous. Every wallet here already holds a closed
 * and an open session of the model, unowned, opened seconds before the create: the old
 * 60-second window adopted those. Real PostgreSQL, the simulator over HTTP; the crash case
 * runs the built gateway as a process (`npm run build` first).
 */
import { type Simulator, startSimulator } from '../dev/simulator';
import { SessionSweeper, type SweepReport } from '../src/session/session-sweeper';
import { startTestApp, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import {
  gatewayEnv,
  type GatewayProcess,
  keyStore,
  openableModels,
  rowsOf,
  seedWalletHistory,
  sessionApi,
  type SessionApi,
  sessionsSince,
  SIMULATOR,
  someKeys,
  startGateway,
  waitFor,
  walletIds,
  UNKNOWN_OUTCOME,
} from './support/kit';
import { ensureBuilt } from './support/process';

jest.setTimeout(60_000);

const OPEN_TIMEOUT_MS = 3_000;

const ownersOf = (db: TestDatabase, chainIds: string[]) =>
  db.query<{ chain_session_id: string }>('SELECT chain_session_id FROM sessions WHERE chain_session_id = ANY($1)', [chainIds]);

describe('adoption of unknown-outcome opens (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let gateway: TestApp;
  let http: SessionApi;
  let models: string[];

  const sweep = (): Promise<SweepReport> => gateway.app.get(SessionSweeper).sweep();
  const settledRows = (keyId: string) =>
    waitFor('the intent to be settled', async () => {
      const rows = await rowsOf(db, keyId);
      return rows.some((r) => r.status === 'opening') ? undefined : rows;
    });

  beforeAll(async () => {
    db = await createTestDatabase('session_adoption');
    sim = await startSimulator({ ...SIMULATOR, seed: 'session-adoption' });
    gateway = await startTestApp(gatewayEnv(db, sim, { SESSION_OPEN_TIMEOUT_MS: String(OPEN_TIMEOUT_MS) }));
    http = sessionApi(gateway.url);
    models = openableModels(sim);
    await sweep(); // the start-up sweep is done: what follows is the tests' own
  });
  afterAll(async () => {
    await gateway?.close();
    await sim?.stop();
    await db?.drop();
  });
  afterEach(() => {
    sim.control.plan.reset();
    sim.control.releaseHeld();
  });

  it.each([
    ['already known', 0],
    ['nonce too low', 1],
  ])('an open answered "%s" after it committed: exactly the new session is adopted, never one from before', async (message, m) => {
    const model = models[m];
    const [key] = await someKeys(gateway, 1);
    const history = seedWalletHistory(sim, model);
    const before = walletIds(sim);
    sim.control.failNext('openModel', { status: 500, error: message, commit: true });

    const answer = await http.createForModel(key, model);
    expect(answer.status).toBe(504);
    expect(answer.body).toMatchObject({ detail: UNKNOWN_OUTCOME });
    const made = sessionsSince(sim, before);
    expect(made.map((s) => [s.modelId, s.closedAt])).toEqual([[model, 0n]]);

    const rows = await settledRows(key.id);
    expect(rows.map((r) => [r.status, r.chain_session_id])).toEqual([['active', made[0].id]]);
    expect(await ownersOf(db, [history.closed.id, history.open.id])).toEqual([]);
    const current = await http.current(key);
    expect(current.body).toMatchObject({ status: 'active', session_id: made[0].id, model });
    // A sweep changes nothing, and the open was sent once.
    await sweep();
    expect((await rowsOf(db, key.id)).map((r) => [r.status, r.chain_session_id])).toEqual([['active', made[0].id]]);
    expect(sessionsSince(sim, before)).toHaveLength(1);
  });

  it('an open that answered "already known" without committing adopts nothing: once its time is up the intent fails', async () => {
    const model = models[2];
    const [key] = await someKeys(gateway, 1);
    const history = seedWalletHistory(sim, model);
    const before = walletIds(sim);
    sim.control.failNext('openModel', { status: 500, error: 'already known' });

    expect((await http.createForModel(key, model)).status).toBe(504);
    expect(sessionsSince(sim, before)).toEqual([]);
    const rows = await waitFor(
      'the intent to fail',
      async () => {
        await sweep();
        const current = await rowsOf(db, key.id);
        return current[0]?.status === 'failed' ? current : undefined;
      },
      OPEN_TIMEOUT_MS + 15_000,
      250,
    );
    expect(rows.map((r) => [r.status, r.chain_session_id])).toEqual([['failed', null]]);
    expect(await ownersOf(db, [history.closed.id, history.open.id])).toEqual([]);
    expect((await http.current(key)).status).toBe(404);
  });

  it('a wallet that cannot be read before the send: the open is not sent, the intent fails, the next create works', async () => {
    const model = models[4];
    const [key] = await someKeys(gateway, 1);
    sim.control.resetCounts();
    // The read and its retries all fail: no proof, so no open.
    sim.control.failNext('userSessions', { status: 500, error: 'simulated failure', times: 3 });

    const refused = await http.createForModel(key, model);
    expect(refused.status).toBe(502);
    expect(sim.counts()).toMatchObject({ userSessions: 3, openModel: 0 });
    expect((await rowsOf(db, key.id)).map((r) => [r.status, r.chain_session_id])).toEqual([['failed', null]]);

    const next = await http.createForModel(key, model);
    expect(next.status).toBe(200);
    expect(sim.counts().openModel).toBe(1);
  });

  it("two keys whose opens of one model both end unknown: neither adopts the other's session; both fail, both sessions are orphans", async () => {
    const model = models[3];
    const [first, second] = await someKeys(gateway, 2);
    seedWalletHistory(sim, model);
    const baseline = (await sweep()).unmatchedWalletSessions;
    const before = walletIds(sim);
    // Both sends are at the node before either lands: each proof is older than both sessions.
    sim.control.setLatency('openModel', 1_500);
    sim.control.failNext('openModel', { status: 500, error: 'already known', commit: true, times: 2 });

    const answers = await Promise.all([http.createForModel(first, model), http.createForModel(second, model)]);
    expect(answers.map((a) => a.status)).toEqual([504, 504]);
    const made = sessionsSince(sim, before);
    expect(made).toHaveLength(2);

    let report: SweepReport | undefined;
    const settled = await waitFor(
      'both intents to be settled',
      async () => {
        report = await sweep();
        const rows = [...(await rowsOf(db, first.id)), ...(await rowsOf(db, second.id))];
        return rows.some((r) => r.status === 'opening') ? undefined : rows;
      },
      OPEN_TIMEOUT_MS + 15_000,
      250,
    );
    expect(settled.map((r) => [r.status, r.chain_session_id])).toEqual([
      ['failed', null],
      ['failed', null],
    ]);
    expect(
      await ownersOf(
        db,
        made.map((s) => s.id),
      ),
    ).toEqual([]);
    expect(made.every((s) => sim.control.getSession(s.id)?.closedAt === 0n)).toBe(true);
    expect(report!.unmatchedWalletSessions).toBe(baseline + 2);
  });
});

describe('adoption after a crash between send and record (e2e, gateway processes)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let env: Record<string, string>;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase('session_adoption_crash');
    sim = await startSimulator({ ...SIMULATOR, seed: 'session-adoption-crash' });
    env = gatewayEnv(db, sim, { SESSION_OPEN_TIMEOUT_MS: String(OPEN_TIMEOUT_MS), SESSION_SWEEP_INTERVAL_S: '1' });
    gateway = await startGateway(env, { process: true });
  });
  afterAll(async () => {
    sim?.control.releaseHeld();
    await gateway?.stop();
    await sim?.stop();
    await db?.drop();
  });

  it('SIGKILL during an open that reached the chain, restart: the new session is adopted, not the ones from before', async () => {
    const [model] = openableModels(sim);
    const keys = await keyStore(db.url);
    const [key] = await someKeys(keys, 1).finally(() => keys.close());
    const history = seedWalletHistory(sim, model);
    const before = walletIds(sim);
    sim.control.hangNext('openModel', { commit: true });
    const pending = sessionApi(gateway.url)
      .createForModel(key, model)
      .catch(() => 'connection lost' as const);
    await waitFor('the open to land', async () => (sessionsSince(sim, before).length === 1 ? true : undefined), 5_000, 10);
    await gateway.stop('SIGKILL');
    expect(await pending).toBe('connection lost');
    expect((await rowsOf(db, key.id)).map((r) => r.status)).toEqual(['opening']);
    const [made] = sessionsSince(sim, before);

    gateway = await startGateway(env, { process: true, port: gateway.port });
    const rows = await waitFor(
      'the intent to be settled',
      async () => {
        const current = await rowsOf(db, key.id);
        return current.some((r) => r.status === 'opening') ? undefined : current;
      },
      // A bound, not a timing under test: the machine may be loaded.
      OPEN_TIMEOUT_MS + 20_000,
      100,
    );
    expect(rows.map((r) => [r.status, r.chain_session_id])).toEqual([['active', made.id]]);
    expect(await ownersOf(db, [history.closed.id, history.open.id])).toEqual([]);
    expect(sessionsSince(sim, before).map((s) => s.id)).toEqual([made.id]);
    expect(sim.counts().openModel).toBe(1);
  });
});

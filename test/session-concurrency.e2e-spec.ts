/**
 * Concurrency of the session open protocol (issue 4; docs/API.md §5 rules 1, 4, 5): the real app
 * in-process on a fresh PostgreSQL database with DB_POOL_SIZE 10, the simulator over HTTP.
 * - 50 concurrent creates for one key → one open, one answer, one row;
 * - a mix of two targets for one key → one live session, no open sent twice, nothing left
 *   open on chain that no row owns;
 * - 30 keys (more than the pool) opening at once with a 2 s open latency finish in about
 *   one latency, while readiness and GET /api/v1/session for other keys answer at once.
 */
import { type Simulator, startSimulator } from '../dev/simulator';
import { startTestApp, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import { api, createKeys, gatewayEnv, liveCount, openableModels, rowsOf, SIM_PASSWORD, SIM_USER, timed } from './support/instances';

jest.setTimeout(60_000);

const POOL_SIZE = 10;
const OPEN_LATENCY_MS = 2_000;

interface Created {
  success: boolean;
  session_id: string;
  reused: boolean;
  replaced_session_id: string | null;
  model: string;
}

describe('session creates under concurrency (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let gateway: TestApp;
  let http: ReturnType<typeof api>;
  let modelX: string;
  let modelY: string;

  beforeAll(async () => {
    db = await createTestDatabase('session_concurrency');
    sim = await startSimulator({ username: SIM_USER, password: SIM_PASSWORD, seed: 'session-concurrency' });
    gateway = await startTestApp(gatewayEnv(db, sim.url, { DB_POOL_SIZE: String(POOL_SIZE), SESSION_OPEN_TIMEOUT_MS: '10000' }));
    http = api(gateway.url);
    [modelX, modelY] = openableModels(sim);
  });
  afterAll(async () => {
    await gateway?.close();
    await sim?.stop();
    await db?.drop();
  });
  beforeEach(() => sim.reset());

  it('50 concurrent creates for one key: one open, one session_id for all, one row', async () => {
    const [key] = await createKeys(gateway, 'fifty', 1);
    const answers = await Promise.all(Array.from({ length: 50 }, () => http.createModel<Created>(key, modelX)));

    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    const ids = new Set(answers.map((a) => a.body.session_id));
    expect(ids.size).toBe(1);
    const [sessionId] = ids;
    expect(sessionId).toMatch(/^0x[0-9a-f]{64}$/);
    // The caller whose open it was says so; the 49 others were answered with its outcome.
    expect(answers.filter((a) => !a.body.reused)).toHaveLength(1);
    expect(answers.every((a) => a.body.success === true && a.body.model === modelX)).toBe(true);

    expect(sim.counts().openModel).toBe(1);
    expect(sim.control.sessions().map((s) => s.id)).toEqual([sessionId]);
    expect(await liveCount(db, key.id)).toBe(1);
    const rows = await rowsOf(db, key.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'active', chain_session_id: sessionId });
  });

  it('a mix of two targets for one key: one live session, no open sent twice, nothing left open unowned', async () => {
    const [key] = await createKeys(gateway, 'mix', 1);
    const targets = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? modelX : modelY));
    const answers = await Promise.all(targets.map((model) => http.createModel<Created>(key, model)));

    // Rule 4: callers for the other target wait for the open in flight, then go on (rule 2/3).
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    answers.forEach((a, i) => expect(a.body.model).toBe(targets[i]));

    const opens = sim.counts().openModel;
    const answeredIds = new Set(answers.map((a) => a.body.session_id));
    const replaced = new Set(answers.map((a) => a.body.replaced_session_id).filter((id): id is string => id !== null));
    // Every open is some caller's outcome; every switch after the first open names the one it replaced.
    const switches = 1 + replaced.size;
    console.log(`[mix] 25 + 25 creates: ${opens} opens, ${replaced.size} replacements, ${sim.counts().close} closes`);
    expect(answeredIds.size).toBe(opens);
    expect(opens).toBeLessThanOrEqual(switches);
    expect(opens).toBeGreaterThanOrEqual(2); // both targets were served by an open of their own

    // One row per intent, each with its own chain session: no open was sent twice for one intent.
    const rows = await rowsOf(db, key.id);
    expect(rows).toHaveLength(opens);
    expect(rows.every((r) => r.chain_session_id !== null)).toBe(true);
    expect(new Set(rows.map((r) => r.chain_session_id)).size).toBe(opens);
    expect(await liveCount(db, key.id)).toBe(1);
    const live = rows.filter((r) => r.status === 'active');
    expect(live).toHaveLength(1);
    expect(rows.filter((r) => r.status !== 'active').map((r) => r.status)).toEqual(Array(opens - 1).fill('closed'));

    // At the simulator: the live one open, every other one closed, and each owned by a row.
    const onChain = sim.control.sessions();
    expect(onChain).toHaveLength(opens);
    const owned = new Set(rows.map((r) => r.chain_session_id));
    for (const session of onChain) {
      expect(owned.has(session.id)).toBe(true);
      if (session.id === live[0].chain_session_id) expect(session.closedAt).toBe(0n);
      else expect(session.closedAt).toBeGreaterThan(0n);
    }
    expect(sim.counts().close).toBe(opens - 1);
  });

  it(`30 keys (pool ${POOL_SIZE}) opening at once with a ${OPEN_LATENCY_MS} ms open take about one latency; reads answer meanwhile`, async () => {
    const openers = await createKeys(gateway, 'latency', 30);
    const readers = await createKeys(gateway, 'reader', 3);
    // The readers hold sessions already (opened without latency).
    for (const reader of readers) expect((await http.createModel(reader, modelY)).status).toBe(200);
    // The model list is cached, as in steady state: the measured time is the opens'.
    sim.control.resetCounts();
    sim.control.setLatency('openModel', OPEN_LATENCY_MS);

    const start = performance.now();
    const creates = Promise.all(openers.map((key) => timed(start, http.createModel<Created>(key, modelX))));
    // Once the opens are surely in flight (every claim is a few ms), read on other keys.
    await new Promise((r) => setTimeout(r, 300));
    const readsStart = performance.now();
    const reads = await Promise.all([
      timed(start, http.get('/health/ready')),
      ...readers.map((key) => timed(start, http.current(key))),
      timed(start, http.get('/health/ready')),
    ]);
    const readsMs = performance.now() - readsStart;
    const answers = await creates;
    const wallMs = performance.now() - start;
    const firstCreateDone = Math.min(...answers.map((a) => a.doneAt));

    console.log(
      `[bench-like] ${openers.length} keys × open latency ${OPEN_LATENCY_MS} ms, DB_POOL_SIZE ${POOL_SIZE}: ` +
        `wall ${wallMs.toFixed(0)} ms (${(wallMs / OPEN_LATENCY_MS).toFixed(2)} × latency); ` +
        `${reads.length} reads took ${readsMs.toFixed(0)} ms, done at ${Math.max(...reads.map((r) => r.doneAt)).toFixed(0)} ms; ` +
        `first create done at ${firstCreateDone.toFixed(0)} ms`,
    );

    expect(reads.map((r) => r.status)).toEqual(Array(reads.length).fill(200));
    expect(reads[0].body).toMatchObject({ status: 'ok' });
    readers.forEach((_, i) => expect(reads[i + 1].body).toMatchObject({ status: 'active' }));
    // The reads finished while every open was still in flight …
    for (const read of reads) expect(read.doneAt).toBeLessThan(firstCreateDone);
    expect(readsMs).toBeLessThan(1_000);

    // … and the 30 opens ran side by side: about one latency, not 30/pool of them.
    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
    expect(answers.every((a) => a.body.reused === false)).toBe(true);
    expect(new Set(answers.map((a) => a.body.session_id)).size).toBe(30);
    expect(sim.counts().openModel).toBe(30);
    expect(firstCreateDone).toBeGreaterThanOrEqual(OPEN_LATENCY_MS - 50);
    expect(wallMs).toBeLessThan(2 * OPEN_LATENCY_MS);
    for (const key of openers) expect(await liveCount(db, key.id)).toBe(1);
  });
});

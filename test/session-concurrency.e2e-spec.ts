/**
 * Concurrency of the session open protocol (issue 4; docs/API.md §5 rules 1, 4, 5): the real app
 * in-process on a fresh PostgreSQL database with DB_POOL_SIZE 10, the simulator over HTTP.
 * - 50 concurrent creates for one key → one open, one answer, one row;
 * - a mix of two targets for one key → one live session, no open sent twice, nothing left
 *   open on chain that no row owns;
 * - 30 keys (more than the pool) opening at once: all 30 opens are in flight at the node
 *   together (none holds a database connection meanwhile), and readiness and
 *   GET /api/v1/session for other keys answer while they are held.
 */
import type { Simulator } from '../dev/simulator';
import type { TestApp } from './support/app';
import type { TestDatabase } from './support/database';
import {
  aKey,
  isOpenRequest,
  liveCount,
  type NodeRelay,
  type RelayedGateway,
  rowsOf,
  type SessionApi,
  someKeys,
  startRelayedGateway,
  waitFor,
} from './support/kit';

jest.setTimeout(60_000);

const POOL_SIZE = 10;

describe('session creates under concurrency (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let relay: NodeRelay;
  let gateway: TestApp;
  let http: SessionApi;
  let modelX: string;
  let modelY: string;
  let stack: RelayedGateway | undefined;

  beforeAll(async () => {
    stack = await startRelayedGateway('session-concurrency', { DB_POOL_SIZE: String(POOL_SIZE), SESSION_OPEN_TIMEOUT_MS: '10000' });
    ({ db, sim, relay, gateway, http } = stack);
    [modelX, modelY] = stack.models;
  });
  afterAll(() => stack?.stop());
  beforeEach(() => sim.reset());

  it('50 concurrent creates for one key: one open, one session_id for all, one row', async () => {
    const key = await aKey(gateway);
    const answers = await Promise.all(Array.from({ length: 50 }, () => http.createForModel(key, modelX)));

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
    const key = await aKey(gateway);
    const targets = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? modelX : modelY));
    const answers = await Promise.all(targets.map((model) => http.createForModel(key, model)));

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

  it(`30 keys (pool ${POOL_SIZE}) opening at once: all 30 opens in flight together; reads answer while they are held`, async () => {
    const openers = await someKeys(gateway, 30);
    const readers = await someKeys(gateway, 3);
    // The readers hold sessions already; the model list is cached, as in steady state.
    for (const reader of readers) expect((await http.createForModel(reader, modelY)).status).toBe(200);
    sim.control.resetCounts();
    relay.hold(isOpenRequest);

    /** What answered, in arrival order, and when the node was let go. */
    const order: string[] = [];
    const creates = Promise.all(
      openers.map((key) =>
        http.createForModel(key, modelX).then((answer) => {
          order.push('create');
          return answer;
        }),
      ),
    );
    // If an open held one of the pool's 10 connections, at most 10 could ever be in flight.
    await waitFor('all 30 opens to be in flight at the node', () => relay.held() === openers.length, 20_000);
    const reads = await Promise.all(
      [() => http.get('/health/ready'), ...readers.map((key) => () => http.current(key)), () => http.get('/health/ready')].map((read) =>
        read().then((answer) => {
          order.push(`read, ${relay.held()} opens held`);
          return answer;
        }),
      ),
    );
    order.push('node released');
    relay.release();
    const answers = await creates;

    expect(reads.map((r) => r.status)).toEqual(Array(reads.length).fill(200));
    expect(reads[0].body).toMatchObject({ status: 'ok' });
    readers.forEach((_, i) => expect(reads[i + 1].body).toMatchObject({ status: 'active' }));
    // Every read answered while all 30 opens were held; every create only after the node let them go.
    expect(order).toEqual([...Array(reads.length).fill('read, 30 opens held'), 'node released', ...Array(30).fill('create')]);

    expect(answers.map((a) => a.status)).toEqual(Array(30).fill(200));
    expect(answers.every((a) => a.body.reused === false)).toBe(true);
    expect(new Set(answers.map((a) => a.body.session_id)).size).toBe(30);
    expect(sim.counts().openModel).toBe(30);
    for (const key of openers) expect(await liveCount(db, key.id)).toBe(1);
  });
});

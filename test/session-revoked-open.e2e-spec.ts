/**
 * A key revoked (or its user deactivated) while its open is in flight (issue 11): the record
 * step sees it under the key's row lock, closes the new session on chain at once and the
 * caller gets 401 — no paid, active session is left until the next sweep. The open is held
 * at a relay in front of the simulator while the test revokes.
 */
import type { Simulator } from '../dev/simulator';
import { ApiKeyService } from '../src/auth/api-key.service';
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
  startRelayedGateway,
  waitFor,
} from './support/kit';

jest.setTimeout(60_000);

const INVALID = {
  detail: 'Invalid or expired credentials',
  error: { message: 'Invalid or expired credentials', type: 'authentication_error', param: null, code: 'invalid_credentials' },
};

describe('a key revoked while its open is in flight (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let relay: NodeRelay;
  let gateway: TestApp;
  let http: SessionApi;
  let model: string;
  let stack: RelayedGateway | undefined;

  beforeAll(async () => {
    stack = await startRelayedGateway('session-revoked-open', { SESSION_OPEN_TIMEOUT_MS: '10000' });
    ({ db, sim, relay, gateway, http } = stack);
    [model] = stack.models;
  });
  afterAll(() => stack?.stop());

  const openHeldWhile = async (meanwhile: (key: Awaited<ReturnType<typeof aKey>>) => Promise<void>) => {
    const key = await aKey(gateway);
    relay.hold(isOpenRequest);
    const create = http.createForModel(key, model, { body: { sessionDuration: 600 } });
    await waitFor('the open to be held at the node', () => relay.held() === 1, 10_000);
    await meanwhile(key);
    relay.release();
    return { key, answer: await create };
  };

  it('revoked meanwhile: the create answers 401, the session is closed on chain and in the database, nothing live for the key', async () => {
    const { key, answer } = await openHeldWhile((key) =>
      gateway.app
        .get(ApiKeyService)
        .revoke(key.userId, key.id)
        .then(() => undefined),
    );
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual(INVALID);
    const rows = await rowsOf(db, key.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'closed', close_reason: 'revoked' });
    expect(rows[0].chain_session_id).toMatch(/^0x[0-9a-f]{64}$/);
    expect(rows[0].closed_at).not.toBeNull();
    expect(sim.control.getSession(rows[0].chain_session_id!)?.closedAt).toBeGreaterThan(0n);
    expect(await liveCount(db, key.id)).toBe(0);
  });

  it('user deactivated meanwhile: the same', async () => {
    const { key, answer } = await openHeldWhile(async (key) => {
      await db.query('UPDATE users SET is_active = false WHERE id = $1', [key.userId]);
    });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual(INVALID);
    const [row] = await rowsOf(db, key.id);
    expect(row).toMatchObject({ status: 'closed', close_reason: 'user_deactivated' });
    expect(sim.control.getSession(row.chain_session_id!)?.closedAt).toBeGreaterThan(0n);
    expect(await liveCount(db, key.id)).toBe(0);
  });

  it('revoked by another instance just before the create (this one still has the key cached): the claim refuses, nothing is sent', async () => {
    const key = await aKey(gateway);
    expect((await http.current(key)).status).toBe(404); // authenticated: the key is in this instance's cache now
    await db.query('UPDATE api_keys SET is_active = false, is_default = false, revoked_at = now() WHERE id = $1', [key.id]);
    sim.control.resetCounts();
    const answer = await http.createForModel(key, model, { body: { sessionDuration: 600 } });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual(INVALID);
    expect(sim.counts().openModel ?? 0).toBe(0);
    expect(await rowsOf(db, key.id)).toEqual([]);
  });

  it('a key still in force gets its session as before (the contrast)', async () => {
    const { key, answer } = await openHeldWhile(async () => undefined);
    expect(answer.status).toBe(200);
    expect(sim.control.getSession(answer.body.session_id)?.closedAt).toBe(0n);
    expect(await liveCount(db, key.id)).toBe(1);
  });
});

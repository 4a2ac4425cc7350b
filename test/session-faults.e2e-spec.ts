/**
 * Faults around the session open protocol (issue 4 "Faults"; docs/API.md §5 rules 3, 6 and
 * "Background"): the real app in-process on a fresh PostgreSQL database, talking to the
 * simulator through a relay that can take the node down (connection refused) and bring it
 * back with its chain state intact, and that logs every call (opens counted per model).
 * The sweeper's timer is out of the way (SESSION_SWEEP_INTERVAL_S 3600): tests call sweep().
 */
import type { DynamicModule } from '@nestjs/common';
import type { Simulator } from '../dev/simulator';
import { PROXY_ROUTER_OPTIONS } from '../src/proxy-router/proxy-router.module';
import type { ProxyRouterAdapterOptions } from '../src/proxy-router/proxy-router.adapter';
import { SessionSweeper } from '../src/session/session-sweeper';
import type { TestApp } from './support/app';
import type { TestDatabase } from './support/database';
import {
  aKey,
  liveCount,
  type NodeRelay,
  type RelayedGateway,
  rowsOf,
  type SessionApi,
  SIMULATOR,
  someKeys,
  startRelayedGateway,
  waitFor,
  UNKNOWN_OUTCOME,
} from './support/kit';

jest.setTimeout(60_000);

const OPEN_TIMEOUT_MS = 3_000;
/** A 5xx answer (docs/API.md §1). */
const errorBody = (detail: string, code: string) => ({ detail, error: { message: detail, type: 'api_error', param: null, code } });

/** A short half-open delay, so the circuit opened by the outage test does not outlive it by long. */
const quickCircuit: DynamicModule = {
  module: class QuickCircuitModule {},
  global: true,
  providers: [{ provide: PROXY_ROUTER_OPTIONS, useValue: { halfOpenAfterMs: 300 } satisfies ProxyRouterAdapterOptions }],
  exports: [PROXY_ROUTER_OPTIONS],
};

describe('session faults (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let relay: NodeRelay;
  let gateway: TestApp;
  let http: SessionApi;
  let models: string[];
  let modelX: string;
  let modelY: string;

  const sweep = () => gateway.app.get(SessionSweeper).sweep();
  const opensOf = (modelId: string, from = 0) =>
    relay.requests.slice(from).filter((r) => r.method === 'POST' && r.path === `/blockchain/models/${modelId}/session`).length;
  const allRows = () =>
    db.query<{ id: string; status: string; updated_at: Date }>(
      'SELECT id, api_key_id, status, chain_session_id, model_id, closed_at, failure_reason, updated_at FROM sessions ORDER BY id',
    );
  const reasonsOf = async (key: { id: string }) => (await rowsOf(db, key.id)).map((r) => [r.status, r.close_reason]);
  const withoutUpdatedAt = <T extends { updated_at: Date }>(rows: T[]) => rows.map(({ updated_at: _, ...rest }) => rest);

  let stack: RelayedGateway | undefined;

  beforeAll(async () => {
    stack = await startRelayedGateway(
      'session-faults',
      { SESSION_OPEN_TIMEOUT_MS: String(OPEN_TIMEOUT_MS) },
      { extraImports: [quickCircuit] },
    );
    ({ db, sim, relay, gateway, http, models } = stack);
    [modelX, modelY] = models;
  });
  afterAll(() => stack?.stop());
  beforeEach(() => sim.control.resetCounts());
  afterEach(() => {
    // Faults and latencies of one test never leak into the next (the chain state stays).
    sim.control.plan.reset();
    sim.control.setNonceConflict(null);
    sim.control.releaseHeld();
  });

  it('an open answered with a 500 → 502; nothing live is left for the key; the next create works', async () => {
    const key = await aKey(gateway);
    sim.control.failNext('openModel', { status: 500, error: 'simulated failure' });

    const failed = await http.createForModel(key, modelX);
    expect(failed.status).toBe(502);
    expect(failed.body).toEqual(errorBody('proxy-router could not open the session', 'node_error'));
    expect(await liveCount(db, key.id)).toBe(0);
    expect((await rowsOf(db, key.id)).map((r) => r.status)).toEqual(['failed']);
    expect((await http.current(key)).status).toBe(404);

    const next = await http.createForModel(key, modelX);
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ success: true, reused: false, model: modelX });
    expect(sim.counts().openModel).toBe(2);
    expect(await liveCount(db, key.id)).toBe(1);
    expect((await rowsOf(db, key.id)).map((r) => [r.status, r.chain_session_id])).toEqual([
      ['failed', null],
      ['active', next.body.session_id],
    ]);
  });

  it('an open that commits on chain but never answers → 504, then adopted within one sweep, never opened twice', async () => {
    const key = await aKey(gateway);
    sim.control.hangNext('openModel', { commit: true });
    const before = new Set(sim.control.sessions().map((s) => s.id));
    const from = relay.requests.length;

    const order: string[] = [];
    const pending = http.createForModel(key, modelY).then((answer) => (order.push('open: unknown outcome'), answer));
    await waitFor('the open to reach the node', () => sim.counts().openModel === 1);
    // A call whose deadline is the node's read timeout (PROXY_ROUTER_TIMEOUT_MS), not the open's:
    // another key's create whose read-back hangs once, then is retried.
    sim.control.hangNext('session');
    const other = await aKey(gateway);
    const readBack = http.createForModel(other, modelX).then((answer) => (order.push('read-back timed out and retried'), answer));
    const [answer, readBackAnswer] = await Promise.all([pending, readBack]);
    expect(answer.status).toBe(504);
    expect(answer.body).toEqual(errorBody(UNKNOWN_OUTCOME, 'open_outcome_unknown'));
    expect(readBackAnswer.status).toBe(200);
    // The unknown outcome waited for the open's own, longer deadline (SESSION_OPEN_TIMEOUT_MS).
    expect(order).toEqual(['read-back timed out and retried', 'open: unknown outcome']);
    before.add(readBackAnswer.body.session_id);
    const onChain = sim.control.sessions().filter((s) => !before.has(s.id));
    expect(onChain).toHaveLength(1);
    expect(onChain[0]).toMatchObject({ modelId: modelY, closedAt: 0n });

    // The intent waits for the reconciler (right away, or at the latest the next sweep).
    const report = await sweep();
    expect(report.ran).toBe(true);
    const current = await http.current(key);
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ status: 'active', session_id: onChain[0].id, model: modelY });
    const rows = await rowsOf(db, key.id);
    expect(rows.map((r) => [r.status, r.chain_session_id])).toEqual([['active', onChain[0].id]]);
    expect(opensOf(modelY, from)).toBe(1);

    // Retrying the create is now a reuse: still one open.
    const retry = await http.createForModel(key, modelY);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ session_id: onChain[0].id, reused: true });
    expect(opensOf(modelY, from)).toBe(1);
  });

  it('a session the node cannot report right after the open is answered without expires_at, then filled in by a sweep', async () => {
    const key = await aKey(gateway);
    // The read-back (and its two retries) fail; the open itself succeeded.
    sim.control.failNext('session', { times: 3, status: 500, error: 'simulated failure' });

    const created = await http.createForModel(key, modelX);
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ success: true, expires_at: null });
    const onChain = sim.control.getSession(created.body.session_id)!;

    await sweep();
    const current = await http.current(key);
    expect(current.body).toMatchObject({
      session_id: created.body.session_id,
      expires_at: new Date(Number(onChain.endsAt) * 1000).toISOString(),
    });
  });

  it('a close answered with a 500 → 502 and the session stays active', async () => {
    const key = await aKey(gateway);
    const created = await http.createForModel(key, modelX);
    expect(created.status).toBe(200);
    sim.control.failNext('close', { status: 500, error: 'simulated failure' });

    const closed = await http.close(key);
    expect(closed.status).toBe(502);
    expect(closed.body).toEqual(errorBody('proxy-router could not close the session', 'node_error'));
    expect(sim.counts().close).toBe(1);
    const current = await http.current(key);
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ status: 'active', session_id: created.body.session_id });
    expect((await rowsOf(db, key.id)).map((r) => r.status)).toEqual(['active']);
    expect(sim.control.getSession(created.body.session_id)?.closedAt).toBe(0n);

    // The session was not harmed: the next close goes through.
    const again = await http.close(key);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ success: true, session_id: created.body.session_id });
  });

  it('a burst of opens for 20 keys in nonce-conflict mode: no open sent more than twice; a second round leaves one session per key', async () => {
    const keys = await someKeys(gateway, 20);
    const targets = models.slice(0, 20);
    expect(new Set(targets).size).toBe(20);
    const from = relay.requests.length;
    const before = new Set(sim.control.sessions().map((s) => s.id));
    sim.control.setLatency('openModel', 300);
    sim.control.setNonceConflict(1);

    const first = await Promise.all(keys.map((key, i) => http.createForModel(key, targets[i])));
    const succeeded = first.filter((a) => a.status === 200).length;
    console.log(
      `[nonce] first round: ${succeeded}/20 creates succeeded, statuses ${JSON.stringify(first.map((a) => a.status))}, ` +
        `${sim.counts().openModel} opens sent`,
    );
    // The one retry: at most two sends per key, so at most 40 in all.
    expect(sim.counts().openModel).toBeLessThanOrEqual(40);
    targets.forEach((model) => expect(opensOf(model, from)).toBeLessThanOrEqual(2));
    // A nonce rejection is never read as "unknown": failures are 502s, not 504s.
    expect(first.filter((a) => a.status !== 200 && a.status !== 502)).toEqual([]);

    const retried = keys.map((key, i) => ({ key, model: targets[i] })).filter((_, i) => first[i].status !== 200);
    const secondFrom = relay.requests.length;
    const second = await Promise.all(retried.map(({ key, model }) => http.createForModel(key, model)));
    expect(second.map((a) => a.status)).toEqual(retried.map(() => 200));

    // Every key: exactly one live row, active, whose session is open at the simulator and
    // is the only one opened for its model in this test.
    const opened = sim.control.sessions().filter((s) => !before.has(s.id));
    for (const [i, key] of keys.entries()) {
      const rows = await rowsOf(db, key.id);
      const live = rows.filter((r) => r.status === 'active' || r.status === 'opening');
      expect(live).toHaveLength(1);
      expect(live[0].status).toBe('active');
      const forModel = opened.filter((s) => s.modelId === targets[i]);
      expect(forModel.map((s) => s.id)).toEqual([live[0].chain_session_id]);
      expect(forModel[0].closedAt).toBe(0n);
    }
    // The second round's opens, too, were sent at most twice each.
    retried.forEach(({ model }) => expect(opensOf(model, secondFrom)).toBeLessThanOrEqual(2));
  });

  it('the same burst while another client of the wallet keeps writing: failed keys get 502, a second round gives each one session', async () => {
    const keys = await someKeys(gateway, 20);
    const targets = models.slice(0, 20);
    const before = new Set(sim.control.sessions().map((s) => s.id));
    sim.control.setLatency('openModel', 300);
    sim.control.setLatency('close', 300);
    sim.control.setNonceConflict(1);
    // Another client of the node's wallet (not the gateway) sends writes back to back: closes
    // of an unknown session, each holding the wallet's one nonce slot for the latency.
    let writing = true;
    const authorization = `Basic ${Buffer.from(`${SIMULATOR.username}:${SIMULATOR.password}`).toString('base64')}`;
    const neighbour = (async () => {
      let sent = 0;
      while (writing) {
        await fetch(`${sim.url}/blockchain/sessions/0x${'ee'.repeat(32)}/close`, { method: 'POST', headers: { authorization } });
        sent++;
      }
      return sent;
    })();
    await new Promise((r) => setTimeout(r, 50));
    const from = relay.requests.length;

    const first = await Promise.all(keys.map((key, i) => http.createForModel(key, targets[i])));
    writing = false;
    const neighbourWrites = await neighbour;
    const succeeded = first.filter((a) => a.status === 200).length;
    console.log(
      `[nonce+neighbour] first round: ${succeeded}/20 creates succeeded, statuses ${JSON.stringify(first.map((a) => a.status))}, ` +
        `${sim.counts().openModel} opens sent by the gateway, ${neighbourWrites} writes by the other client`,
    );
    expect(sim.counts().openModel).toBeLessThanOrEqual(40);
    targets.forEach((model) => expect(opensOf(model, from)).toBeLessThanOrEqual(2));
    expect(first.filter((a) => a.status !== 200 && a.status !== 502)).toEqual([]);
    for (const [i, key] of keys.entries()) {
      // A refused open leaves nothing live behind; a successful one is the key's session.
      expect(await liveCount(db, key.id)).toBe(first[i].status === 200 ? 1 : 0);
    }

    const retried = keys.map((key, i) => ({ key, model: targets[i] })).filter((_, i) => first[i].status !== 200);
    const secondFrom = relay.requests.length;
    const second = await Promise.all(retried.map(({ key, model }) => http.createForModel(key, model)));
    expect(second.map((a) => a.status)).toEqual(retried.map(() => 200));
    retried.forEach(({ model }) => expect(opensOf(model, secondFrom)).toBeLessThanOrEqual(2));

    const opened = sim.control.sessions().filter((s) => !before.has(s.id));
    for (const [i, key] of keys.entries()) {
      const live = (await rowsOf(db, key.id)).filter((r) => r.status === 'active' || r.status === 'opening');
      expect(live).toHaveLength(1);
      expect(live[0].status).toBe('active');
      const forModel = opened.filter((s) => s.modelId === targets[i]);
      expect(forModel.map((s) => s.id)).toEqual([live[0].chain_session_id]);
    }
  });

  it('node down: create and ping → 503 with the session untouched; a sweep during the outage changes nothing', async () => {
    const [held, fresh, closedByNode, stale] = await someKeys(gateway, 4);
    const session = await http.createForModel(held, modelX);
    expect(session.status).toBe(200);
    const gone = await http.createForModel(closedByNode, modelX);
    expect(gone.status).toBe(200);
    // Work a sweep would do if it could reach the node: a session the node closed, and a
    // stale intent whose open never reached the chain (older than SESSION_OPEN_TIMEOUT_MS plus
    // one sweep interval, so the reconciler may call it failed).
    sim.control.closeSessionByNode(gone.body.session_id);
    const [{ user_id: staleUser }] = await db.query<{ user_id: string }>('SELECT user_id FROM api_keys WHERE id = $1', [stale.id]);
    const staleModel = models[models.length - 1];
    await db.query(
      `INSERT INTO sessions (api_key_id, user_id, kind, model_id, status, session_duration, open_requested_at, created_at)
       VALUES ($1, $2, 'model', $3, 'opening', 3600, now() - interval '3 hours', now() - interval '3 hours')`,
      [stale.id, staleUser, staleModel],
    );
    await http.current(held); // a live connection to the node is in the adapter's pool

    await relay.down();
    // Let the adapter's pool see its kept-alive connections closed (else an open might be
    // sent on a dead socket and be "unknown" instead of refused).
    await new Promise((r) => setTimeout(r, 200));
    const snapshot = await allRows();
    sim.control.resetCounts();

    // Another target: the claim marks the old one replacing, the open is refused, it is active again.
    const switched = await http.createForModel(held, modelY);
    expect(switched.status).toBe(503);
    const first = await http.createForModel(fresh, modelX);
    expect(first.status).toBe(503);
    const ping = await http.ping(held);
    expect(ping.status).toBe(503);
    // Refused, or refused without trying once the circuit opened: the same code either way.
    expect(ping.body).toMatchObject({ detail: expect.any(String), error: { type: 'api_error', code: 'proxy_router_unavailable' } });

    // The held session is as it was (its status went replacing → active during the refused
    // switch: same status, same chain id); nothing live was left for the fresh key.
    const current = await http.current(held);
    expect(current.body).toMatchObject({ status: 'active', session_id: session.body.session_id, model: modelX });
    expect(await liveCount(db, fresh.id)).toBe(0);
    const beforeSweep = await allRows();
    const known = new Set(snapshot.map((r) => r.id));
    expect(withoutUpdatedAt(beforeSweep.filter((r) => known.has(r.id)))).toEqual(withoutUpdatedAt(snapshot));
    expect(beforeSweep.filter((r) => !known.has(r.id)).map((r) => r.status)).toEqual(['failed', 'failed']);

    // A sweep during the outage: every row identical before and after, to the updated_at.
    const report = await sweep();
    expect(report.ran).toBe(true);
    expect(report).toMatchObject({ adopted: 0, failed: 0, closed: 0 });
    expect(await allRows()).toEqual(beforeSweep);
    expect(sim.counts()).toMatchObject({ openModel: 0, close: 0, userSessions: 0, chat: 0 });

    // The node is back: the same sweep now settles what it could not (so it could have above).
    await relay.up();
    await new Promise((r) => setTimeout(r, 400)); // past the circuit's half-open delay
    const recovered = await sweep();
    expect(recovered).toMatchObject({ ran: true, failed: 1, closed: 1 });
    expect((await rowsOf(db, closedByNode.id)).map((r) => [r.status, r.close_reason])).toEqual([['closed', 'closed_by_node']]);
    expect((await rowsOf(db, stale.id)).map((r) => r.status)).toEqual(['failed']);
    expect((await rowsOf(db, held.id)).find((r) => r.status === 'active')?.chain_session_id).toBe(session.body.session_id);
    const pingAfter = await http.ping(held);
    expect(pingAfter.status).toBe(200);
    expect(pingAfter.body).toMatchObject({ status: 'alive', session_id: session.body.session_id });
  });

  it("one sweep closes a session past EndsAt, a revoked key's and a deactivated user's, each with its close_reason; a dead one keeps its own", async () => {
    const [ending, revoked, deactivated, dead] = await someKeys(gateway, 4);
    const opened: string[] = [];
    for (const key of [ending, revoked, deactivated, dead]) {
      const res = await http.createForModel(key, modelX);
      expect(res.status).toBe(200);
      opened.push(res.body.session_id);
    }
    sim.control.expireSession(opened[0]);
    await db.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE chain_session_id = $1`, [opened[0]]);
    // Straight in the database, as another instance would: no in-process listener closes them first.
    await db.query('UPDATE api_keys SET is_active = false, is_default = false, revoked_at = now() WHERE id = $1', [revoked.id]);
    await db.query('UPDATE users SET is_active = false WHERE id = $1', [deactivated.userId]);
    // Found dead, its close fails (left closing), then the node closes it: it stays `dead`.
    sim.control.setChatBehaviour(opened[3], { mode: 'error' });
    sim.control.failNext('close', { status: 500 });
    expect((await http.ping(dead)).body).toMatchObject({ status: 'dead' });
    expect(await reasonsOf(dead)).toEqual([['closing', 'dead']]);
    sim.control.closeSessionByNode(opened[3]);

    expect(await sweep()).toMatchObject({ ran: true, expired: 1, closed: 4 });
    expect(await reasonsOf(ending)).toEqual([['expired', 'expired']]);
    expect(await reasonsOf(revoked)).toEqual([['closed', 'revoked']]);
    expect(await reasonsOf(deactivated)).toEqual([['closed', 'user_deactivated']]);
    expect(await reasonsOf(dead)).toEqual([['closed', 'dead']]);
    for (const id of opened) expect(sim.control.getSession(id)?.closedAt).toBeGreaterThan(0n);
  });
});

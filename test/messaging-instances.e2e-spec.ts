/**
 * Two gateway instances in one NATS queue group (docs/API.md §6, issue 5): two in-process apps on
 * the same database and this file's own nats-server. Each app carries a test-only
 * APP_INTERCEPTOR that records the messages it handled, so a reply can be attributed to
 * the instance that produced it.
 */
import type { CallHandler, DynamicModule, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import type { NatsContext } from '@nestjs/microservices';
import { connect, createInbox, JSONCodec } from 'nats';
import type { Observable } from 'rxjs';
import { type Simulator, startSimulator } from '../dev/simulator';
import { type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import { gatewayClient, type GatewayClientHandle, type NatsServer, startNatsServer, waitForNatsStatus } from './support/nats';
import { aKey, gatewayEnv, openableModels, sessionApi, settleBackground, SIMULATOR, startGateway, type TestKey } from './support/kit';

jest.setTimeout(60_000);

const COUNT = 20;

interface Handled {
  subject: string;
  authorization: unknown;
}

/** A module whose global interceptor records every message its app handles. */
function handledMessages(): { module: DynamicModule; handled: Handled[] } {
  const handled: Handled[] = [];
  const recorder: NestInterceptor = {
    intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
      if (context.getType() === 'rpc') {
        const rpc = context.switchToRpc();
        handled.push({
          subject: rpc.getContext<NatsContext>().getSubject(),
          authorization: rpc.getData<{ authorization?: unknown }>().authorization,
        });
      }
      return next.handle();
    },
  };
  return {
    module: { module: class HandledMessagesModule {}, providers: [{ provide: APP_INTERCEPTOR, useValue: recorder }] },
    handled,
  };
}

describe('two instances in one queue group (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let nats: NatsServer;
  const gateways: TestApp[] = [];
  const handled: Handled[][] = [];
  let typed: GatewayClientHandle;

  /** How many messages on `subject` each instance handled for these credentials. */
  const perInstance = (subject: string, auths: Set<unknown>) =>
    handled.map((list) => list.filter((h) => h.subject === subject && auths.has(h.authorization)).length);

  beforeAll(async () => {
    db = await createTestDatabase('messaging_instances');
    sim = await startSimulator({ ...SIMULATOR, seed: 'messaging-instances-e2e' });
    nats = await startNatsServer();
    for (let i = 0; i < 2; i++) {
      const recorder = handledMessages();
      const gateway = await startGateway(gatewayEnv(db, sim, { NATS_URL: nats.url, LOG_LEVEL: 'warn' }), {
        extraImports: [recorder.module],
      });
      gateways.push(gateway);
      handled.push(recorder.handled);
      await settleBackground(gateway);
    }
    for (const gateway of gateways) await waitForNatsStatus(gateway.url, 'up');
    typed = await gatewayClient({ transport: 'nats', url: nats.url, timeoutMs: 20_000 });
  });

  beforeEach(() => sim.reset());

  afterAll(async () => {
    await typed?.close();
    for (const gateway of gateways) await gateway.close();
    await nats?.stop();
    await sim?.stop();
    await db?.drop();
  });

  it(`${COUNT} session.get messages are each answered exactly once, by one instance or the other`, async () => {
    const keys: TestKey[] = [];
    for (let i = 0; i < COUNT; i++) keys.push(await aKey(gateways[0]));
    // Each key gets its own session over HTTP (through either instance), so every answer is distinguishable.
    const sessions = await Promise.all(
      keys.map(async (key, i) => {
        const res = await sessionApi(gateways[i % 2].url).createForModel(key.auth, openableModels(sim)[i % 3]);
        expect(res.status).toBe(200);
        return res.body.session_id;
      }),
    );
    expect(new Set(sessions).size).toBe(COUNT);
    const auths = new Set<unknown>(keys.map((key) => key.auth));

    // Through the typed client: every reply is its own key's session.
    const replies = await Promise.all(keys.map((key) => typed.client.getSession(key.auth)));
    replies.forEach((reply, i) => expect(reply).toMatchObject({ session_id: sessions[i], status: 'active' }));
    const counts = perInstance('session.get', auths);
    expect(counts[0] + counts[1]).toBe(COUNT);
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBeGreaterThan(0);
    for (const key of keys) {
      expect(handled.flat().filter((h) => h.subject === 'session.get' && h.authorization === key.auth)).toHaveLength(1);
    }

    // On the wire: Nest's request framing by hand, counting every reply that reaches the inbox.
    const nc = await connect({ servers: [nats.url] });
    try {
      const json = JSONCodec<{ id?: string; response?: { session_id?: string }; err?: unknown; isDisposed?: boolean }>();
      const inbox = createInbox();
      const answers: Array<{ id?: string; response?: { session_id?: string }; err?: unknown; isDisposed?: boolean }> = [];
      nc.subscribe(inbox, { callback: (error, msg) => !error && answers.push(json.decode(msg.data)) });
      await nc.flush();
      keys.forEach((key, i) =>
        nc.publish('session.get', JSON.stringify({ pattern: 'session.get', data: { authorization: key.auth }, id: `raw-${i}` }), {
          reply: inbox,
        }),
      );
      // And one without a credential: a failure travels as `err` = {status, detail, code}.
      nc.publish('session.get', JSON.stringify({ pattern: 'session.get', data: {}, id: 'raw-anonymous' }), { reply: inbox });
      await nc.flush();
      const deadline = Date.now() + 10_000;
      while (answers.length < COUNT + 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 500)); // a second answer would arrive by now
      const payloadAnswers = answers.filter((a) => a.response !== undefined || a.err !== undefined);
      expect(payloadAnswers).toHaveLength(COUNT + 1);
      expect(payloadAnswers.filter((a) => a.id === 'raw-anonymous')).toEqual([
        { id: 'raw-anonymous', err: { status: 401, detail: 'Not authenticated', code: 'invalid_credentials' }, isDisposed: true },
      ]);
      keys.forEach((_, i) => {
        const mine = payloadAnswers.filter((a) => a.id === `raw-${i}`);
        expect(mine).toEqual([{ id: `raw-${i}`, response: expect.objectContaining({ session_id: sessions[i] }), isDisposed: true }]);
      });
    } finally {
      await nc.close();
    }
    const afterRaw = perInstance('session.get', auths);
    expect(afterRaw[0] + afterRaw[1]).toBe(2 * COUNT);
  });

  it(`${COUNT} concurrent session.create_model messages for one key, spread over both instances, open exactly one session`, async () => {
    const key = await aKey(gateways[0]);
    const model = openableModels(sim)[0];
    sim.control.setLatency('openModel', 800); // every message arrives while the one open is in flight
    const replies = await Promise.allSettled(
      Array.from({ length: COUNT }, () => typed.client.createModelSession(key.auth, { model_id: model, sessionDuration: 600 })),
    );
    const failures = replies.filter((r) => r.status === 'rejected');
    expect(failures).toEqual([]);
    const bodies = replies.map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof typed.client.createModelSession>>>).value);
    expect(sim.counts().openModel).toBe(1);
    expect(new Set(bodies.map((b) => b.session_id)).size).toBe(1);
    expect(bodies.filter((b) => !b.reused)).toHaveLength(1);
    const counts = perInstance('session.create_model', new Set([key.auth]));
    expect(counts[0] + counts[1]).toBe(COUNT);
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBeGreaterThan(0);
    const [live] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM sessions WHERE api_key_id = $1`, [key.id]);
    expect(Number(live.n)).toBe(1);
    expect(await typed.client.getSession(key.auth)).toMatchObject({ session_id: bodies[0].session_id, status: 'active' });
  });
});

/**
 * The TCP interface's limits (issue 11): frames are bounded by MESSAGE_MAX_BYTES before
 * anything is buffered or parsed — before authentication — and a frame left incomplete
 * closes its connection. Nest's default framing buffered up to 128 M characters and then
 * JSON-parsed them. A payload nested 10,000 levels is a 422, not a 500.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { type Simulator, startSimulator } from '../dev/simulator';
import { startTestApp, type TestApp } from './support/app';
import { createTestDatabase, type TestDatabase } from './support/database';
import { gatewayClient, type GatewayClientHandle, gatewayError } from './support/nats';
import { freePort } from './support/process';
import { aKey, gatewayEnv, settleBackground, SIMULATOR, totalCalls, waitFor } from './support/kit';

jest.setTimeout(60_000);

/** Room for a 10,000-level payload (50 KB), so that the depth check, not the size limit, refuses it. */
const LIMIT = 65_536;

/** A raw connection to the TCP interface that records what comes back and when it closed. */
async function rawConnection(port: number): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  const socket = connectTcp({ host: '127.0.0.1', port });
  let received = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined); // a reset by the server is what some tests expect
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => received, closed: () => closed };
}

/** One frame of @nestjs/microservices' TCP framing: `<length in characters>#<json>`. */
const frame = (packet: unknown) => {
  const text = JSON.stringify(packet);
  return `${text.length}#${text}`;
};

/** The packets in a stream of frames. */
function packets(stream: string): Array<{ id?: string; err?: unknown; response?: unknown }> {
  const out: Array<{ id?: string; err?: unknown; response?: unknown }> = [];
  let rest = stream;
  while (rest.length) {
    const hash = rest.indexOf('#');
    const length = Number(rest.slice(0, hash));
    out.push(JSON.parse(rest.slice(hash + 1, hash + 1 + length)) as { id?: string });
    rest = rest.slice(hash + 1 + length);
  }
  return out;
}

describe('TCP interface limits (e2e)', () => {
  let db: TestDatabase;
  let sim: Simulator;
  let gateway: TestApp;
  let port: number;
  let typed: GatewayClientHandle;

  beforeAll(async () => {
    db = await createTestDatabase('messaging_tcp_limits');
    sim = await startSimulator({ ...SIMULATOR, seed: 'messaging-tcp-limits-e2e' });
    port = await freePort();
    gateway = await startTestApp(
      gatewayEnv(db, sim, {
        MICROSERVICE_HOST: '127.0.0.1',
        MICROSERVICE_PORT: String(port),
        MESSAGE_MAX_BYTES: String(LIMIT),
        LOG_LEVEL: 'warn',
      }),
    );
    await settleBackground(gateway);
    typed = await gatewayClient({ transport: 'tcp', host: '127.0.0.1', port, timeoutMs: 15_000 });
  });

  beforeEach(() => sim.reset());

  afterAll(async () => {
    await typed?.close();
    await gateway?.close();
    await sim?.stop();
    await db?.drop();
  });

  /** A normal request on a fresh connection of the typed client still works. */
  const stillServes = async () => {
    const key = await aKey(gateway);
    expect(await gatewayError(typed.client.getSession(key.auth))).toEqual({ status: 404, detail: 'No active session' });
  };

  it('a frame declaring more than MESSAGE_MAX_BYTES closes the connection before its body is buffered', async () => {
    const raw = await rawConnection(port);
    raw.socket.write('100000000#{"pattern":"session.get","data":{"authorization":"');
    // Then try to push 32 MB of it: the gateway has closed the connection long before.
    const chunk = 'x'.repeat(64 * 1024);
    let offered = 0;
    while (!raw.closed() && !raw.socket.destroyed && offered < 32 * 1024 * 1024) {
      offered += chunk.length;
      if (!raw.socket.write(chunk)) await new Promise((resolve) => raw.socket.once('drain', resolve).once('close', resolve));
    }
    await waitFor('the gateway to close the connection', () => raw.closed(), 10_000);
    // What left this side is at most what the kernel's buffers took before the reset, far from 32 MB.
    expect(raw.socket.bytesWritten).toBeLessThan(16 * 1024 * 1024);
    expect(raw.received()).toBe('');
    await stillServes();
  });

  it('a frame within the limit in characters but over it in bytes closes the connection', async () => {
    const raw = await rawConnection(port);
    // 30,000 characters of three bytes each: 90,000 bytes.
    raw.socket.write(frame({ pattern: 'session.get', data: { authorization: '€'.repeat(30_000) }, id: 'wide' }));
    await waitFor('the gateway to close the connection', () => raw.closed(), 10_000);
    expect(raw.received()).toBe('');
    await stillServes();
  });

  it('a frame left incomplete closes the connection (after the incomplete-frame timeout)', async () => {
    const raw = await rawConnection(port);
    raw.socket.write('500#{"pattern":"session.get"');
    await waitFor('the gateway to close the connection', () => raw.closed(), 20_000, 100);
    expect(raw.received()).toBe('');
  });

  it('a length prefix that is not a number closes the connection', async () => {
    const raw = await rawConnection(port);
    raw.socket.write('{"pattern":"session.get","data":{}}#');
    await waitFor('the gateway to close the connection', () => raw.closed(), 10_000);
    expect(raw.received()).toBe('');
  });

  it('frames within the limit, several in one write, are each answered', async () => {
    const key = await aKey(gateway);
    const raw = await rawConnection(port);
    const ids = ['a', 'b', 'c'];
    raw.socket.write(ids.map((id) => frame({ pattern: 'session.get', data: { authorization: key.auth }, id })).join(''));
    await waitFor('three answers', () => {
      try {
        return packets(raw.received()).length >= 3;
      } catch {
        return false; // a frame still arriving
      }
    });
    const answers = packets(raw.received());
    expect(answers.map((p) => p.id).sort()).toEqual(ids);
    for (const answer of answers) expect(answer.err).toEqual({ status: 404, detail: 'No active session', code: 'no_session' });
    expect(raw.closed()).toBe(false);
    raw.socket.destroy();
  });

  it('a payload nested 10,000 levels is a 422 before any handler, on a connection that stays usable', async () => {
    const key = await aKey(gateway);
    const raw = await rawConnection(port);
    const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const text = `{"pattern":"session.create_model","data":{"authorization":${JSON.stringify(key.auth)},"model_id":"m","deep":${deep}},"id":"deep"}`;
    expect(text.length).toBeLessThan(LIMIT);
    raw.socket.write(`${text.length}#${text}`);
    raw.socket.write(frame({ pattern: 'session.get', data: { authorization: key.auth }, id: 'after' }));
    await waitFor('two answers', () => {
      try {
        return packets(raw.received()).length >= 2;
      } catch {
        return false;
      }
    });
    const byId = Object.fromEntries(packets(raw.received()).map((p) => [p.id, p.err]));
    expect(byId).toEqual({
      deep: {
        status: 422,
        detail: [{ loc: ['payload'], msg: 'JSON nested too deeply: more than 8 levels', type: 'json_invalid' }],
        code: 'validation_error',
      },
      after: { status: 404, detail: 'No active session', code: 'no_session' },
    });
    raw.socket.destroy();

    // The bound: the payload and seven levels below it pass the depth check (the DTO then
    // refuses the unknown field); one more level is refused for its depth.
    const nested = (levels: number) => JSON.parse('{"a":'.repeat(levels) + '1' + '}'.repeat(levels)) as unknown;
    const eight = await gatewayError(typed.client.createModelSession(key.auth, { model_id: 'm', deep: nested(7) } as never));
    expect(eight.detail).toEqual([expect.objectContaining({ loc: ['payload', 'deep'], type: 'extra_forbidden' })]);
    const nine = await gatewayError(typed.client.createModelSession(key.auth, { model_id: 'm', deep: nested(8) } as never));
    expect(nine).toEqual({
      status: 422,
      detail: [{ loc: ['payload'], msg: 'JSON nested too deeply: more than 8 levels', type: 'json_invalid' }],
    });
    expect(totalCalls(sim)).toBe(0);
  });
});

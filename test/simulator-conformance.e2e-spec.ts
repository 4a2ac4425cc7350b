/**
 * The proxy-router simulator must speak the real node's wire format: every route the
 * adapter uses is driven over HTTP and every answer (successes and `{"error"}` failures) is
 * validated against the node's wire schema, docs/proxy-router.wire.yaml (a corrected copy of
 * the public proxy-router swagger, see docs/DESIGN.md "The node (proxy-router)"). Big
 * integers are checked for exactness in the raw text.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { isLosslessNumber, parse as parseLossless } from 'lossless-json';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { type Simulator, startSimulator } from '../dev/simulator';

const SPEC_PATH = path.resolve(__dirname, '../docs/proxy-router.wire.yaml');

const TWO_POW_53 = 2n ** 53n;
const USER = 'conformance';
const PASSWORD = 'wire-format';

type JsonSchema = { [key: string]: unknown };
interface SwaggerDocument {
  definitions: Record<string, JsonSchema>;
  paths: Record<string, Record<string, { responses?: Record<string, { schema?: JsonSchema }> }>>;
}

/**
 * Swagger 2.0 → JSON Schema for ajv: `#/definitions/X` refs point into one registered
 * schema, and every object with declared properties is closed (`additionalProperties:
 * false`), so a camelCase or extra field from the simulator fails instead of slipping by.
 */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    const isRef = key === '$ref' && typeof value === 'string';
    out[key] = isRef
      ? value.replace('#/definitions/', 'wire#/definitions/')
      : key === 'properties'
        ? mapValues(value, toJsonSchema)
        : toJsonSchema(value);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

function mapValues(value: unknown, fn: (v: unknown) => unknown): JsonSchema {
  return Object.fromEntries(Object.entries(value as JsonSchema).map(([k, v]) => [k, fn(v)]));
}

class WireSpec {
  // allowUnionTypes: the v7.11 big integers are `string | integer` (the node's builds differ).
  private readonly ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  private readonly doc: SwaggerDocument;
  private readonly validators = new Map<string, ValidateFunction>();
  readonly errorValidator: ValidateFunction;

  constructor(yamlText: string) {
    this.doc = parseYaml(yamlText) as SwaggerDocument;
    // Swagger annotations, not validation keywords.
    for (const keyword of ['example', 'x-enum-varnames', 'x-enum-comments']) this.ajv.addKeyword(keyword);
    this.ajv.addFormat('hex', /^0x[0-9a-fA-F]*$/);
    this.ajv.addSchema({ $id: 'wire', definitions: mapValues(this.doc.definitions, toJsonSchema) });
    this.errorValidator = this.ajv.compile({ $ref: 'wire#/definitions/structs.ErrRes' });
  }

  /** The schema the yaml gives for this path, method and status (200 unless said). */
  responseValidator(pathTemplate: string, method: 'get' | 'post', status = '200'): ValidateFunction {
    const key = `${method} ${pathTemplate} ${status}`;
    const cached = this.validators.get(key);
    if (cached) return cached;
    const schema = this.doc.paths[pathTemplate]?.[method]?.responses?.[status]?.schema;
    if (!schema) throw new Error(`no ${status} schema for ${method.toUpperCase()} ${pathTemplate} in the wire yaml`);
    const validator = this.ajv.compile(toJsonSchema(schema) as JsonSchema);
    this.validators.set(key, validator);
    return validator;
  }
}

interface WireAnswer {
  status: number;
  text: string;
  /** The body with every number as a JS number (what ajv checks types on). */
  plain: unknown;
  /** The body with numbers as LosslessNumber (for exact big values). */
  exact: Record<string, unknown>;
}

function decode(status: number, text: string): WireAnswer {
  const plain = parseLossless(text, undefined, (digits) => Number(digits));
  return { status, text, plain, exact: parseLossless(text) as Record<string, unknown> };
}

const exactField = (value: unknown): string => {
  if (!isLosslessNumber(value)) throw new Error(`expected a JSON number, got ${JSON.stringify(value)}`);
  return value.toString();
};

// Never skipped: without the schema every test below fails, naming the missing file.
describe('proxy-router simulator conforms to the wire schema', () => {
  let spec: WireSpec;
  let sim: Simulator;
  const authorization = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

  beforeAll(async () => {
    if (!existsSync(SPEC_PATH)) throw new Error(`the node's wire schema is missing: ${SPEC_PATH}`);
    spec = new WireSpec(readFileSync(SPEC_PATH, 'utf8'));
    sim = await startSimulator({ username: USER, password: PASSWORD, seed: 'conformance' });
  });
  afterAll(async () => {
    await sim?.stop();
  });
  beforeEach(() => sim.reset());

  async function send(
    method: 'GET' | 'POST',
    url: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<WireAnswer> {
    const res = await request(`${sim.url}${url}`, {
      method,
      headers: { authorization, 'content-type': 'application/json', ...options.headers },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    return decode(res.statusCode, await res.body.text());
  }

  /** Calls the route and validates the answer: the yaml's 200 schema, or structs.ErrRes. */
  async function call(method: 'GET' | 'POST', template: string, url: string, body?: unknown): Promise<WireAnswer> {
    const answer = await send(method, url, { body });
    const validate = answer.status === 200 ? spec.responseValidator(template, method === 'GET' ? 'get' : 'post') : spec.errorValidator;
    const valid = validate(answer.plain);
    if (!valid)
      throw new Error(
        `${method} ${url} → ${answer.status} ${answer.text}\ndoes not match the wire schema: ${JSON.stringify(validate.errors)}`,
      );
    return answer;
  }

  const expectError = (answer: WireAnswer, status: number, fragment: string): void => {
    expect(answer.status).toBe(status);
    expect((answer.plain as { error: string }).error).toContain(fragment);
  };

  const openByModel = async (modelId: string, sessionDuration = 3600): Promise<string> => {
    const answer = await call('POST', '/blockchain/models/{id}/session', `/blockchain/models/${modelId}/session`, {
      sessionDuration,
      directPayment: false,
      failover: false,
    });
    expect(answer.status).toBe(200);
    return (answer.plain as { sessionID: string }).sessionID;
  };

  describe('system', () => {
    it('GET /healthcheck (no auth, as on the node)', async () => {
      const res = await request(`${sim.url}/healthcheck`);
      const answer = decode(res.statusCode, await res.body.text());
      expect(answer.status).toBe(200);
      expect(spec.responseValidator('/healthcheck', 'get')(answer.plain)).toBe(true);
    });

    it('GET /wallet, and 401 without the basic auth', async () => {
      const answer = await call('GET', '/wallet', '/wallet');
      expect(answer.plain).toEqual({ address: sim.walletAddress });
      expect(sim.walletAddress).toMatch(/^0x[0-9a-f]{40}$/);

      const anonymous = await request(`${sim.url}/wallet`);
      expect(anonymous.statusCode).toBe(401);
      expect(spec.errorValidator(await anonymous.body.json())).toBe(true);
    });
  });

  describe('models and bids', () => {
    type WireModel = { Id: string; Name: string; IsDeleted: boolean; Stake: number };

    it('GET /blockchain/models: all models without a limit, pages with offset/limit/order', async () => {
      const all = (await call('GET', '/blockchain/models', '/blockchain/models')).plain as { models: WireModel[] };
      expect(all.models.length).toBe(sim.marketplace.models.length);
      expect(all.models.length).toBeGreaterThan(20);
      expect(all.models.filter((m) => m.IsDeleted).map((m) => m.Id)).toEqual([sim.marketplace.deletedModelId]);
      expect(all.models.filter((m) => m.Name === sim.marketplace.duplicateName)).toHaveLength(2);

      const pages: WireModel[] = [];
      for (let offset = 0; offset < all.models.length; offset += 10) {
        const page = (await call('GET', '/blockchain/models', `/blockchain/models?offset=${offset}&limit=10&order=asc`)).plain as {
          models: WireModel[];
        };
        pages.push(...page.models);
      }
      expect(pages.map((m) => m.Id)).toEqual(all.models.map((m) => m.Id));
      const desc = (await call('GET', '/blockchain/models', '/blockchain/models?limit=3&order=desc')).plain as { models: WireModel[] };
      expect(desc.models.map((m) => m.Id)).toEqual(
        all.models
          .slice(-3)
          .reverse()
          .map((m) => m.Id),
      );
    });

    it('GET /blockchain/models: model stakes are exact JSON numbers past 2^53', async () => {
      const answer = await call('GET', '/blockchain/models', '/blockchain/models?limit=1');
      const [model] = answer.exact.models as Array<Record<string, unknown>>;
      const stake = exactField(model.Stake);
      expect(BigInt(stake) > TWO_POW_53).toBe(true);
      expect(answer.text).toContain(`"Stake":${stake}`);
    });

    it('GET /blockchain/models rejects bad paging with a 400 {"error"}', async () => {
      expectError(await call('GET', '/blockchain/models', '/blockchain/models?limit=abc'), 400, 'invalid syntax');
      expectError(await call('GET', '/blockchain/models', '/blockchain/models?limit=10&order=up'), 400, 'oneof');
    });

    it("GET /blockchain/models/{id}/bids: the model's bids, deleted ones marked by DeletedAt", async () => {
      const modelId = sim.marketplace.liveModelIds[0];
      const answer = await call('GET', '/blockchain/models/{id}/bids', `/blockchain/models/${modelId}/bids`);
      const bids = (answer.plain as { bids: Array<{ Id: string; DeletedAt: string; ModelAgentId: string }> }).bids;
      expect(bids.every((bid) => bid.ModelAgentId === modelId)).toBe(true);
      expect(bids.find((bid) => bid.Id === sim.marketplace.deletedBidId)?.DeletedAt).not.toBe('0');

      const paged = await call('GET', '/blockchain/models/{id}/bids', `/blockchain/models/${modelId}/bids?offset=1&limit=1&order=asc`);
      expect((paged.plain as { bids: Array<{ Id: string }> }).bids.map((b) => b.Id)).toEqual([bids[1].Id]);
      const unknown = await call('GET', '/blockchain/models/{id}/bids', `/blockchain/models/0x${'9'.repeat(64)}/bids`);
      expect(unknown.plain).toEqual({ bids: [] });
      expectError(await call('GET', '/blockchain/models/{id}/bids', '/blockchain/models/not-hex/bids'), 400, 'hex32');
    });

    it('GET /blockchain/models/{id}/bids/rated: live bids with scores', async () => {
      const modelId = sim.marketplace.liveModelIds[0];
      const answer = await call('GET', '/blockchain/models/{id}/bids/rated', `/blockchain/models/${modelId}/bids/rated`);
      const rated = (answer.plain as { bids: Array<{ ID: string; Bid: { Id: string; DeletedAt: string }; Score: number }> }).bids;
      expect(rated.length).toBeGreaterThan(0);
      expect(rated.every((entry) => entry.ID === entry.Bid.Id && entry.Bid.DeletedAt === '0')).toBe(true);
    });

    it('GET /blockchain/bids/{id}: a known bid, with lib.BigInt decimal strings', async () => {
      const bidId = sim.marketplace.liveBidIds[0];
      const answer = await call('GET', '/blockchain/bids/{id}', `/blockchain/bids/${bidId}`);
      const bid = (answer.plain as { bid: Record<string, unknown> }).bid;
      expect(bid.Id).toBe(bidId);
      expect(bid.PricePerSecond).toBe(sim.marketplace.bids.find((b) => b.id === bidId)?.pricePerSecond);
      expect(answer.text).toMatch(/"PricePerSecond":"\d+"/);
    });

    it('GET /blockchain/bids/{id}: an unknown id answers 200 with the zero-valued bid', async () => {
      const id = `0x${'5a'.repeat(32)}`;
      const answer = await call('GET', '/blockchain/bids/{id}', `/blockchain/bids/${id}`);
      expect(answer.status).toBe(200);
      expect(answer.plain).toEqual({
        bid: {
          Id: id,
          Provider: '0x0000000000000000000000000000000000000000',
          ModelAgentId: `0x${'0'.repeat(64)}`,
          PricePerSecond: '0',
          Nonce: '0',
          CreatedAt: '0',
          DeletedAt: '0',
        },
      });
      expectError(await call('GET', '/blockchain/bids/{id}', '/blockchain/bids/0x12'), 400, 'hex32');
    });
  });

  describe('sessions', () => {
    type WireSession = Record<string, unknown>;

    it('POST /blockchain/models/{id}/session opens one; GET /blockchain/sessions/{id} reads it exactly', async () => {
      const sessionId = await openByModel(sim.marketplace.liveModelIds[1], 3600);
      expect(sessionId).toMatch(/^0x[0-9a-f]{64}$/);

      const answer = await call('GET', '/blockchain/sessions/{id}', `/blockchain/sessions/${sessionId}`);
      const session = answer.exact.session as WireSession;
      const record = sim.control.getSession(sessionId)!;
      expect(exactField(session.Stake)).toBe(record.stake.toString());
      expect(record.stake > TWO_POW_53).toBe(true);
      expect(answer.text).toContain(`"Stake":${record.stake}`);
      expect(BigInt(exactField(session.EndsAt)) - BigInt(exactField(session.OpenedAt))).toBe(3600n);
      expect(exactField(session.ClosedAt)).toBe('0');
      expect(session).toMatchObject({ Id: sessionId, User: sim.walletAddress, BidID: record.bidId });
    });

    it('an EndsAt beyond 2^53 survives the wire exactly', async () => {
      const sessionId = await openByModel(sim.marketplace.liveModelIds[2]);
      sim.control.setSessionEndsAt(sessionId, TWO_POW_53 + 7n);
      const answer = await call('GET', '/blockchain/sessions/{id}', `/blockchain/sessions/${sessionId}`);
      expect(answer.text).toContain('"EndsAt":9007199254740999');
      expect(exactField((answer.exact.session as WireSession).EndsAt)).toBe('9007199254740999');
    });

    it('POST /blockchain/models/{id}/session failures are {"error"} answers', async () => {
      const template = '/blockchain/models/{id}/session';
      const noBids = await call('POST', template, `/blockchain/models/${sim.marketplace.modelWithoutBidsId}/session`, {
        sessionDuration: 60,
      });
      expectError(noBids, 500, 'no bids available');
      expectError(
        await call('POST', template, `/blockchain/models/${sim.marketplace.liveModelIds[0]}/session`, {
          failover: 'yes',
          sessionDuration: 60,
        }),
        400,
        'bool',
      );
    });

    it('POST /blockchain/bids/{id}/session opens with that bid; deleted or unknown bids fail', async () => {
      const template = '/blockchain/bids/{id}/session';
      const bidId = sim.marketplace.liveBidIds[3];
      const opened = await call('POST', template, `/blockchain/bids/${bidId}/session`, { sessionDuration: 600 });
      const sessionId = (opened.plain as { sessionID: string }).sessionID;
      expect(sim.control.getSession(sessionId)?.bidId).toBe(bidId);

      expectError(
        await call('POST', template, `/blockchain/bids/${sim.marketplace.deletedBidId}/session`, { sessionDuration: 600 }),
        500,
        'BidNotFound',
      );
      expect((await call('POST', template, `/blockchain/bids/0x${'7'.repeat(64)}/session`, { sessionDuration: 600 })).status).toBe(500);
      expectError(await call('POST', template, `/blockchain/bids/${bidId}/session`, {}), 400, 'SessionDuration');
    });

    it('GET /blockchain/sessions/{id} of an unknown session is a 500 "session not found"', async () => {
      expectError(await call('GET', '/blockchain/sessions/{id}', `/blockchain/sessions/0x${'3'.repeat(64)}`), 500, 'session not found');
    });

    it("GET /blockchain/sessions/user pages the wallet's sessions", async () => {
      const ids = [await openByModel(sim.marketplace.liveModelIds[0]), await openByModel(sim.marketplace.liveModelIds[4])];
      const template = '/blockchain/sessions/user';
      const all = await call('GET', template, `${template}?user=${sim.walletAddress}&offset=0&limit=10&order=asc`);
      expect((all.plain as { sessions: WireSession[] }).sessions.map((s) => s.Id)).toEqual(ids);
      const last = await call('GET', template, `${template}?user=${sim.walletAddress}&limit=1&order=desc`);
      expect((last.plain as { sessions: WireSession[] }).sessions.map((s) => s.Id)).toEqual([ids[1]]);
      const stake = exactField((all.exact.sessions as WireSession[])[0].Stake);
      expect(all.text).toContain(`"Stake":${stake}`);
      expectError(await call('GET', template, template), 400, 'required');
    });

    it('POST /blockchain/sessions/{id}/close closes once; the second close is SessionAlreadyClosed', async () => {
      const sessionId = await openByModel(sim.marketplace.liveModelIds[0]);
      const template = '/blockchain/sessions/{id}/close';
      const closed = await call('POST', template, `/blockchain/sessions/${sessionId}/close`);
      expect((closed.plain as { tx: string }).tx).toMatch(/^0x[0-9a-f]{64}$/);
      expectError(await call('POST', template, `/blockchain/sessions/${sessionId}/close`), 500, 'SessionAlreadyClosed');

      const read = await call('GET', '/blockchain/sessions/{id}', `/blockchain/sessions/${sessionId}`);
      expect(BigInt(exactField((read.exact.session as WireSession).ClosedAt)) > 0n).toBe(true);
    });

    it('scripted failures (fail-next, nonce conflicts) are {"error"} answers too', async () => {
      sim.control.failNext('session', { error: 'failed to send transaction: nonce too low' });
      const failed = await call('GET', '/blockchain/sessions/{id}', `/blockchain/sessions/0x${'4'.repeat(64)}`);
      expectError(failed, 500, 'nonce too low');

      sim.control.setNonceConflict(1);
      sim.control.setLatency('openModel', 100);
      const modelId = sim.marketplace.liveModelIds[0];
      const template = '/blockchain/models/{id}/session';
      const answers = await Promise.all(
        [1, 2].map(() => call('POST', template, `/blockchain/models/${modelId}/session`, { sessionDuration: 60 })),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 500]);
      expectError(
        answers.find((a) => a.status === 500)!,
        500,
        'replacement transaction underpriced',
      );
    });
  });

  describe('money (v7.11)', () => {
    const BIG = 2n ** 53n + 12_345n;
    const exactText = (answer: WireAnswer, field: string): string => {
      const value = answer.exact[field];
      return typeof value === 'string' ? value : exactField(value);
    };

    it.each(['string', 'number'] as const)(
      'GET /blockchain/balance, /blockchain/sessions/budget and /blockchain/token/supply: exact past 2^53 as %s',
      async (encoding) => {
        sim.control.setBigIntEncoding(encoding);
        sim.control.setWallet({ eth: BIG, mor: BIG * 1000n + 1n, budget: BIG + 2n, supply: BIG * BIG });
        const balance = await call('GET', '/blockchain/balance', '/blockchain/balance');
        const budget = await call('GET', '/blockchain/sessions/budget', '/blockchain/sessions/budget');
        const supply = await call('GET', '/blockchain/token/supply', '/blockchain/token/supply');
        expect([exactText(balance, 'eth'), exactText(balance, 'mor')]).toEqual([`${BIG}`, `${BIG * 1000n + 1n}`]);
        expect(exactText(budget, 'budget')).toBe(`${BIG + 2n}`);
        expect(exactText(supply, 'supply')).toBe(`${BIG * BIG}`);
        // The encoding is the build's: a string is quoted, a number is not.
        const quoted = encoding === 'string' ? `"${BIG}"` : `${BIG}`;
        expect(balance.text).toContain(`"eth":${quoted}`);
        expect(sim.counts()).toMatchObject({ balance: 1, budget: 1, supply: 1 });
      },
    );

    it('GET /blockchain/stakes/onhold answers decimal strings; iterations must be 1..255', async () => {
      sim.control.setWallet({ available: BIG, hold: BIG + 1n });
      const template = '/blockchain/stakes/onhold';
      const answer = await call('GET', template, `${template}?iterations=255`);
      expect(answer.exact).toEqual({ available: `${BIG}`, hold: `${BIG + 1n}` });
      expectError(await call('GET', template, `${template}?iterations=0`), 400, 'Iterations');
      expectError(await call('GET', template, `${template}?iterations=256`), 400, 'Iterations');
      expectError(await call('GET', template, `${template}?iterations=x`), 400, 'invalid syntax');
      expect(sim.counts().onHold).toBe(4);
    });

    it('POST /blockchain/stakes/withdraw moves the available stake to the MOR balance, counted', async () => {
      sim.control.setWallet({ available: BIG, hold: 7n, mor: 1n });
      const template = '/blockchain/stakes/withdraw';
      const answer = await call('POST', template, template, { iterations: 20 });
      expect((answer.plain as { tx: string }).tx).toMatch(/^0x[0-9a-f]{64}$/);
      const after = await call('GET', '/blockchain/stakes/onhold', '/blockchain/stakes/onhold?iterations=20');
      expect(after.exact).toEqual({ available: '0', hold: '7' });
      const balance = await call('GET', '/blockchain/balance', '/blockchain/balance');
      expect(exactText(balance, 'mor')).toBe(`${BIG + 1n}`);
      expect(sim.control.receivedWithdraws()).toEqual([{ iterations: 20, amount: BIG, tx: (answer.plain as { tx: string }).tx }]);
      expectError(await call('POST', template, template, { iterations: 300 }), 400, 'Iterations');
      expect(sim.counts().withdraw).toBe(2);
    });

    it('a failed withdraw is an {"error"} answer and moves nothing (unless it commits)', async () => {
      sim.control.setWallet({ available: 5n });
      sim.control.failNext('withdraw', { error: 'failed to send transaction: nonce too low' });
      expectError(
        await call('POST', '/blockchain/stakes/withdraw', '/blockchain/stakes/withdraw', { iterations: 1 }),
        500,
        'nonce too low',
      );
      expect(sim.control.walletNumbers().available).toBe(5n);
      sim.control.failNext('withdraw', { commit: true });
      await call('POST', '/blockchain/stakes/withdraw', '/blockchain/stakes/withdraw', { iterations: 1 });
      expect(sim.control.walletNumbers().available).toBe(0n);
      expect(sim.control.receivedWithdraws()).toHaveLength(1);
    });

    it('per-bid prices and per-provider capacity refusals shape the opens', async () => {
      const bid = sim.marketplace.bids.find((b) => !b.isDeleted)!;
      sim.control.setBidPrice(bid.id, BIG);
      const read = await call('GET', '/blockchain/bids/{id}', `/blockchain/bids/${bid.id}`);
      expect(read.text).toContain(`"PricePerSecond":"${BIG}"`);
      const template = '/blockchain/bids/{id}/session';
      const opened = await call('POST', template, `/blockchain/bids/${bid.id}/session`, { sessionDuration: 60 });
      expect(sim.control.getSession((opened.plain as { sessionID: string }).sessionID)?.pricePerSecond).toBe(BIG);

      // Stakes follow the settable supply and budget (price × duration × supply / budget).
      sim.control.setWallet({ supply: 10n * BIG, budget: 3n });
      const scaled = await call('POST', template, `/blockchain/bids/${bid.id}/session`, { sessionDuration: 60 });
      const stake = sim.control.getSession((scaled.plain as { sessionID: string }).sessionID)?.stake;
      expect(stake).toBe((BIG * 60n * 10n * BIG) / 3n);

      sim.control.setCapacityRefusal(bid.provider);
      expectError(await call('POST', template, `/blockchain/bids/${bid.id}/session`, { sessionDuration: 60 }), 500, 'no capacity');
      const other = sim.marketplace.bids.find((b) => !b.isDeleted && b.provider !== bid.provider)!;
      expect((await call('POST', template, `/blockchain/bids/${other.id}/session`, { sessionDuration: 60 })).status).toBe(200);
      expect(sim.control.sessions()).toHaveLength(3);
    });

    it('the HTTP control routes set the same state', async () => {
      const control = (method: 'GET' | 'POST', route: string, body?: unknown) =>
        request(`${sim.url}/__sim/${route}`, { method, body: body === undefined ? undefined : JSON.stringify(body) }).then(async (r) => ({
          status: r.statusCode,
          text: await r.body.text(),
        }));
      expect((await control('POST', 'wallet', { eth: `${BIG}`, available: 3 })).status).toBe(200);
      expect((await control('POST', 'bigint-encoding', { encoding: 'number' })).status).toBe(200);
      const balance = await call('GET', '/blockchain/balance', '/blockchain/balance');
      expect(balance.text).toContain(`"eth":${BIG}`);
      await call('POST', '/blockchain/stakes/withdraw', '/blockchain/stakes/withdraw', { iterations: 2 });
      expect(JSON.parse((await control('GET', 'withdraws')).text)).toEqual({
        withdraws: [{ iterations: 2, amount: '3', tx: expect.stringMatching(/^0x/) as unknown }],
      });
      const bid = sim.marketplace.bids.find((b) => !b.isDeleted)!;
      expect((await control('POST', `bids/${bid.id}/price`, { pricePerSecond: `${BIG}` })).status).toBe(200);
      expect(sim.marketplace.bids.find((b) => b.id === bid.id)?.pricePerSecond).toBe(`${BIG}`);
      expect((await control('POST', `providers/${bid.provider}/capacity-refusal`, {})).status).toBe(200);
      expectError(
        await call('POST', '/blockchain/bids/{id}/session', `/blockchain/bids/${bid.id}/session`, { sessionDuration: 60 }),
        500,
        'no capacity',
      );
      expect((await control('POST', `providers/${bid.provider}/capacity-refusal`, { refuses: false })).status).toBe(200);
      expect(
        (await call('POST', '/blockchain/bids/{id}/session', `/blockchain/bids/${bid.id}/session`, { sessionDuration: 60 })).status,
      ).toBe(200);
      expect((await control('POST', 'bigint-encoding', { encoding: 'hex' })).status).toBe(400);
      expect(JSON.parse((await control('GET', 'counts')).text)).toMatchObject({ balance: 1, withdraw: 1 });
    });
  });

  describe('chat', () => {
    const chat = (sessionId: string) =>
      send('POST', '/v1/chat/completions', {
        body: { messages: [{ role: 'user', content: 'ping' }], stream: true, max_tokens: 1 },
        headers: { session_id: sessionId },
      });

    it('POST /v1/chat/completions streams SSE chunks ending in [DONE]', async () => {
      const sessionId = await openByModel(sim.marketplace.liveModelIds[0]);
      const res = await request(`${sim.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization, session_id: sessionId, 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'ping' }], stream: true }),
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/event-stream');
      const text = await res.body.text();
      expect(spec.responseValidator('/v1/chat/completions', 'post')(text)).toBe(true);

      const events = text.split('\n\n').filter(Boolean);
      expect(events.every((event) => event.startsWith('data: '))).toBe(true);
      expect(events.at(-1)).toBe('data: [DONE]');
      const chunks = events.slice(0, -1).map((event) => JSON.parse(event.slice('data: '.length)) as { object: string; choices: unknown[] });
      expect(chunks.length).toBeGreaterThan(1);
      expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.choices.length === 1)).toBe(true);
    });

    it.each([429, 503])("passes a busy backend's %i through as {providerModelError, statusCode}", async (status) => {
      const sessionId = await openByModel(sim.marketplace.liveModelIds[0]);
      sim.control.setChatBehaviour(sessionId, { mode: 'busy', status: status as 429 | 503 });
      const busy = await chat(sessionId);
      expect(busy.status).toBe(status);
      expect(spec.responseValidator('/v1/chat/completions', 'post', String(status))(busy.plain)).toBe(true);
      expect(busy.plain).toMatchObject({ statusCode: status, providerModelError: expect.any(Object) });
    });

    it('answers "session expired" after EndsAt and "session not found" once closed or unknown', async () => {
      const sessionId = await openByModel(sim.marketplace.liveModelIds[0]);
      sim.control.expireSession(sessionId);
      const expired = await chat(sessionId);
      expect(spec.errorValidator(expired.plain)).toBe(true);
      expectError(expired, 500, 'session expired');

      sim.control.closeSessionByNode(sessionId);
      const closed = await chat(sessionId);
      expect(spec.errorValidator(closed.plain)).toBe(true);
      expectError(closed, 500, 'session not found');
      expectError(await chat(`0x${'6'.repeat(64)}`), 500, 'session not found');
    });
  });
});

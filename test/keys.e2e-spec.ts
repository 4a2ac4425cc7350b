/**
 * Key management end to end (docs/API.md §3): create, list, make default, revoke — always
 * scoped to the calling user, with the whole key shown exactly once.
 */
import { createHash } from 'node:crypto';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { bearer, client, JsonResponse, oidcEnv, startTestApp, TestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { loginForTokens, testIssuer } from './support/oidc';

type Call = ReturnType<typeof client>;

interface CreatedKey {
  id: string;
  name: string | null;
  key: string;
  key_prefix: string;
  is_default: boolean;
  created_at: string;
}

interface ListedKey {
  id: string;
  name: string | null;
  key_prefix: string;
  is_default: boolean;
  is_active: boolean;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const issuer = testIssuer();
const KEY_SHAPE = /^sk-[A-Za-z0-9]{8}\.[A-Za-z0-9_-]{43}$/;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
/** A 404/409 answer of these routes (docs/API.md §1). */
const errorBody = (detail: string, code: string) => ({
  detail,
  error: { message: detail, type: 'invalid_request_error', param: null, code },
});

/** Every key and token this file sees: none may reach a log line. */
const secrets = new Set<string>();

let userCount = 0;
/** A fresh user (a real login at the identity provider) and its JWT access token. */
async function aUserToken(label = 'user'): Promise<string> {
  const username = `${label}-${++userCount}`;
  const tokens = await loginForTokens(
    { issuer: issuer.issuer, clientId: issuer.clientId, clientSecret: issuer.clientSecret },
    { username, resource: issuer.audience },
  );
  secrets.add(tokens.access_token);
  return tokens.access_token;
}

// Starting the app and real logins can pass jest's 5 s default under load (the e2e project's
// testTimeout in jest.config.js is not applied by jest 30: it is a global option).

describe('API key management (e2e)', () => {
  let db: TestDatabase;
  let gateway: TestApp;
  let call: Call;
  const apps: TestApp[] = [];

  async function createKey(token: string, body?: unknown): Promise<JsonResponse<CreatedKey>> {
    const res = await call<CreatedKey>('POST', '/api/v1/auth/keys', { auth: bearer(token), body });
    if (res.status === 201) secrets.add(res.body.key).add(res.body.key.split('.')[1]);
    return res;
  }
  const listKeys = (token: string) => call<ListedKey[]>('GET', '/api/v1/auth/keys', { auth: bearer(token) });
  const makeDefault = (token: string, id: string) => call<ListedKey>('PUT', `/api/v1/auth/keys/${id}/default`, { auth: bearer(token) });
  const revokeKey = (token: string, id: string) => call('DELETE', `/api/v1/auth/keys/${id}`, { auth: bearer(token) });
  /** /auth/* refuses keys with 403 once authenticated: a 403 proves the key works, a 401 that it does not. */
  const useKey = (key: string) => call('GET', '/api/v1/auth/me', { auth: bearer(key) });

  async function anApiKey(token: string, name?: string): Promise<CreatedKey> {
    const res = await createKey(token, name === undefined ? {} : { name });
    expect(res.status).toBe(201);
    return res.body;
  }

  async function defaultKeyIds(token: string): Promise<string[]> {
    return (await listKeys(token)).body.filter((k) => k.is_default).map((k) => k.id);
  }

  beforeAll(async () => {
    db = await createTestDatabase('keys');
    gateway = await startTestApp({ DATABASE_URL: db.url, ...oidcEnv() });
    apps.push(gateway);
    call = client(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await db?.drop();
  });

  describe('POST /api/v1/auth/keys', () => {
    it('creates a key shown whole in this answer only; the first key is the default, the next not', async () => {
      const token = await aUserToken();

      const first = await createKey(token, { name: 'ci-bot' });
      const second = await createKey(token, { name: 'laptop' });

      expect(first.status).toBe(201);
      expect(first.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'ci-bot',
        key: expect.stringMatching(KEY_SHAPE),
        key_prefix: first.body.key.split('.')[0],
        is_default: true,
        created_at: expect.stringMatching(ISO_TIME),
      });
      // The answer carries the secret: no cache may keep it; the listing (no secrets) is not marked.
      expect(first.headers.get('cache-control')).toBe('no-store');
      expect(first.headers.get('x-content-type-options')).toBe('nosniff');
      expect((await listKeys(token)).headers.get('cache-control')).toBeNull();
      expect(second.status).toBe(201);
      expect(second.body).toMatchObject({ name: 'laptop', is_default: false });
      expect(second.body.key).not.toBe(first.body.key);
      await expect(useKey(first.body.key)).resolves.toMatchObject({ status: 403 });
      await expect(useKey(second.body.key)).resolves.toMatchObject({ status: 403 });
    });

    it.each<[string, { body?: unknown; rawBody?: string }]>([
      ['no body', {}],
      ['an empty body with content-type json', { rawBody: '' }],
      ['{}', { body: {} }],
    ])('the name is optional: %s is allowed', async (_label, request) => {
      const token = await aUserToken();

      const res = await call<CreatedKey>('POST', '/api/v1/auth/keys', { auth: bearer(token), ...request });

      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ name: null, is_default: true, key: expect.stringMatching(KEY_SHAPE) });
    });

    it.each<[string, unknown, string]>([
      ['longer than 64 characters', 'x'.repeat(65), 'string_too_long'],
      ['that is empty', '', 'string_too_short'],
      ['that is not a string', 42, 'string_type'],
    ])('a name %s is a 422', async (_label, name, type) => {
      const token = await aUserToken();

      const res = await createKey(token, { name });

      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        detail: [{ loc: ['body', 'name'], msg: expect.any(String), type }],
        error: { message: expect.any(String), type: 'invalid_request_error', param: 'body.name', code: 'validation_error' },
      });
      expect((await listKeys(token)).body).toEqual([]);
    });

    it('a name of exactly 64 characters is accepted', async () => {
      const res = await createKey(await aUserToken(), { name: 'n'.repeat(64) });
      expect(res.status).toBe(201);
      expect(res.body.name).toBe('n'.repeat(64));
    });

    it('an unknown field is a 422 extra_forbidden', async () => {
      const res = await createKey(await aUserToken(), { name: 'ok', is_default: false });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        detail: [{ loc: ['body', 'is_default'], msg: expect.any(String), type: 'extra_forbidden' }],
        error: { message: expect.any(String), type: 'invalid_request_error', param: 'body.is_default', code: 'validation_error' },
      });
    });

    it('10 concurrent creates for a new user give exactly one default key', async () => {
      const token = await aUserToken('concurrent');

      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => createKey(token, { name: `k${i}` })));

      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
      expect(answers.filter((a) => a.body.is_default)).toHaveLength(1);
      const listed = (await listKeys(token)).body;
      expect(listed).toHaveLength(10);
      expect(listed.filter((k) => k.is_default)).toHaveLength(1);
      expect(await db.query(`SELECT count(DISTINCT user_id)::int AS n FROM api_keys WHERE name ~ '^k[0-9]$'`)).toEqual([{ n: 1 }]);
    });
  });

  describe('GET /api/v1/auth/keys', () => {
    it("lists the caller's keys newest first, revoked ones included, without any secret or hash", async () => {
      const token = await aUserToken();
      const created = [await anApiKey(token, 'one'), await anApiKey(token, 'two'), await anApiKey(token, 'three')];
      expect((await revokeKey(token, created[1].id)).status).toBe(200);

      const raw = await fetch(`${gateway.url}/api/v1/auth/keys`, { headers: { authorization: bearer(token) } });
      const text = await raw.text();
      const listed = JSON.parse(text) as ListedKey[];

      expect(raw.status).toBe(200);
      expect(listed.map((k) => k.name)).toEqual(['three', 'two', 'one']);
      expect(listed[0]).toEqual({
        id: created[2].id,
        name: 'three',
        key_prefix: created[2].key_prefix,
        is_default: false,
        is_active: true,
        created_at: created[2].created_at,
        last_used_at: null,
        revoked_at: null,
      });
      expect(listed[1]).toMatchObject({
        id: created[1].id,
        is_active: false,
        is_default: false,
        revoked_at: expect.stringMatching(ISO_TIME),
      });
      expect(listed[2]).toMatchObject({ id: created[0].id, is_active: true, is_default: true });
      const hashes = await db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys');
      for (const { key, key_prefix } of created) {
        expect(text).not.toContain(key);
        expect(text).not.toContain(key.split('.')[1]);
        expect(text).toContain(key_prefix);
        expect(text).not.toContain(createHash('sha256').update(key).digest('hex'));
      }
      expect(hashes.length).toBeGreaterThanOrEqual(3);
      for (const { key_hash } of hashes) expect(text).not.toContain(key_hash);
      expect(text).not.toMatch(/sk-[A-Za-z0-9]{8}\./);
      expect(text).not.toMatch(/[0-9a-f]{40,}/i);
      expect(text).not.toMatch(/"(key|key_hash|keyHash|hash|secret)"/);
    });

    it("shows user A's keys to A only", async () => {
      const alice = await aUserToken('alice');
      const bob = await aUserToken('bob');
      const aliceKey = await anApiKey(alice, 'alice-key');
      const bobKey = await anApiKey(bob, 'bob-key');

      expect((await listKeys(alice)).body.map((k) => k.id)).toEqual([aliceKey.id]);
      expect((await listKeys(bob)).body.map((k) => k.id)).toEqual([bobKey.id]);
      expect((await listKeys(await aUserToken('carol'))).body).toEqual([]);
    });
  });

  describe('PUT /api/v1/auth/keys/{id}/default', () => {
    it('makes a key the only default and answers with it, without the secret', async () => {
      const token = await aUserToken();
      const first = await anApiKey(token);
      const second = await anApiKey(token);

      const res = await makeDefault(token, second.id);

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: second.id, key_prefix: second.key_prefix, is_default: true, is_active: true });
      expect(res.body).not.toHaveProperty('key');
      expect(await defaultKeyIds(token)).toEqual([second.id]);
      // Idempotent: the default stays the default.
      expect((await makeDefault(token, second.id)).body.is_default).toBe(true);
      expect((await makeDefault(token, first.id)).status).toBe(200);
      expect(await defaultKeyIds(token)).toEqual([first.id]);
    });

    it('a revoked key is a 409', async () => {
      const token = await aUserToken();
      await anApiKey(token);
      const revoked = await anApiKey(token);
      await revokeKey(token, revoked.id);

      const res = await makeDefault(token, revoked.id);

      expect(res.status).toBe(409);
      expect(res.body).toEqual(errorBody('A revoked API key cannot be the default', 'key_revoked'));
    });

    it("another user's key, an unknown id and a non-UUID are 404, and change nothing", async () => {
      const owner = await aUserToken('owner');
      const other = await aUserToken('other');
      const ownerDefault = await anApiKey(owner);
      const ownerSecond = await anApiKey(owner);
      const otherKey = await anApiKey(other);

      for (const id of [ownerSecond.id, UNKNOWN_ID, 'not-a-uuid']) {
        const res = await makeDefault(other, id);
        expect(res.status).toBe(404);
        expect(res.body).toEqual(errorBody('API key not found', 'key_not_found'));
      }
      expect(await defaultKeyIds(owner)).toEqual([ownerDefault.id]);
      expect(await defaultKeyIds(other)).toEqual([otherKey.id]);
    });
  });

  describe('DELETE /api/v1/auth/keys/{id}', () => {
    it('revokes the key: 200 {id, revoked: true}, refused with 401 at once', async () => {
      const token = await aUserToken();
      const key = await anApiKey(token);
      expect((await useKey(key.key)).status).toBe(403);

      const res = await revokeKey(token, key.id);

      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id: key.id, revoked: true });
      const refused = await useKey(key.key);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('of the default key, makes the newest active key the default', async () => {
      const token = await aUserToken();
      const oldest = await anApiKey(token, 'oldest');
      const middle = await anApiKey(token, 'middle');
      const newest = await anApiKey(token, 'newest');
      expect(oldest.is_default).toBe(true);

      await revokeKey(token, oldest.id);
      expect(await defaultKeyIds(token)).toEqual([newest.id]);

      // Revoking a key that is not the default leaves the default alone.
      await makeDefault(token, middle.id);
      await revokeKey(token, newest.id);
      expect(await defaultKeyIds(token)).toEqual([middle.id]);

      // The last active key gone: no default at all (revoked keys are never default).
      await revokeKey(token, middle.id);
      expect(await defaultKeyIds(token)).toEqual([]);
      const fresh = await anApiKey(token);
      expect(fresh.is_default).toBe(true);
    });

    it("again, another user's key id, an unknown id or a non-UUID id is a 404", async () => {
      const owner = await aUserToken('owner');
      const other = await aUserToken('other');
      const revoked = await anApiKey(owner);
      const alive = await anApiKey(owner);
      await revokeKey(owner, revoked.id);

      for (const [token, id] of [
        [owner, revoked.id],
        [other, alive.id],
        [owner, UNKNOWN_ID],
        [owner, 'not-a-uuid'],
        [owner, `${alive.id}x`],
      ]) {
        const res = await revokeKey(token, id);
        expect({ id, status: res.status, body: res.body }).toEqual({
          id,
          status: 404,
          body: errorBody('API key not found', 'key_not_found'),
        });
      }
      // Another user's attempt changed nothing: the key still works and is listed active.
      expect((await useKey(alive.key)).status).toBe(403);
      expect((await listKeys(owner)).body.find((k) => k.id === alive.id)).toMatchObject({ is_active: true, is_default: true });
    });

    it('publishes one api-key.revoked event, after the revocation, and none for a refused one', async () => {
      const token = await aUserToken();
      const userId = (await call('GET', '/api/v1/auth/me', { auth: bearer(token) })).body.id as string;
      const key = await anApiKey(token);
      const events: unknown[] = [];
      const listener = (event: unknown) => events.push(event);
      const emitter = gateway.app.get(EventEmitter2);
      emitter.on('api-key.revoked', listener);
      try {
        await revokeKey(token, key.id);
        await revokeKey(token, key.id);
        await revokeKey(token, UNKNOWN_ID);
      } finally {
        emitter.off('api-key.revoked', listener);
      }

      expect(events).toEqual([{ apiKeyId: key.id, userId, keyPrefix: key.key_prefix.replace(/^sk-/, '') }]);
    });
  });

  describe('with MAX_KEYS_PER_USER=2', () => {
    let limited: TestApp;
    let limitedCall: Call;

    beforeAll(async () => {
      limited = await startTestApp({ DATABASE_URL: db.url, ...oidcEnv(), MAX_KEYS_PER_USER: '2' });
      apps.push(limited);
      limitedCall = client(limited.url);
    });

    afterAll(async () => {
      await limited?.close();
    });

    it('a third active key is a 409; revoking one makes room again', async () => {
      const token = await aUserToken('limited');
      const create = async () => {
        const res = await limitedCall<CreatedKey>('POST', '/api/v1/auth/keys', { auth: bearer(token), body: {} });
        if (res.status === 201) secrets.add(res.body.key);
        return res;
      };
      const first = await create();
      expect((await create()).status).toBe(201);

      const third = await create();

      expect(third.status).toBe(409);
      expect(third.body).toEqual(errorBody('At most 2 active API keys per user: revoke one first', 'too_many_keys'));
      expect((await listKeys(token)).body).toHaveLength(2);
      await limitedCall('DELETE', `/api/v1/auth/keys/${first.body.id}`, { auth: bearer(token) });
      expect((await create()).status).toBe(201);
      expect((await create()).status).toBe(409);
    });
  });

  it('every key route needs a user token: none is a 401, an API key a 403', async () => {
    const token = await aUserToken();
    const key = await anApiKey(token);
    const routes: [string, string][] = [
      ['POST', '/api/v1/auth/keys'],
      ['GET', '/api/v1/auth/keys'],
      ['PUT', `/api/v1/auth/keys/${key.id}/default`],
      ['DELETE', `/api/v1/auth/keys/${key.id}`],
    ];
    for (const [method, path] of routes) {
      const anonymous: JsonResponse = await call(method, path);
      const withKey: JsonResponse = await call(method, path, { auth: bearer(key.key) });
      expect({ route: `${method} ${path}`, anonymous: anonymous.status, withKey: withKey.status }).toEqual({
        route: `${method} ${path}`,
        anonymous: 401,
        withKey: 403,
      });
    }
    expect((await listKeys(token)).body).toEqual([expect.objectContaining({ id: key.id, is_active: true })]);
  });

  // Last on purpose: every key of this file has been created, listed, used and revoked by now.
  it('no log line holds a key, its secret, its hash or a user token', async () => {
    const logs = apps.map((a) => a.logs()).join('\n');
    const hashes = (await db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys')).map((row) => row.key_hash);
    expect(logs).toContain('POST /api/v1/auth/keys 201');
    expect(secrets.size).toBeGreaterThan(50);
    expect(hashes.length).toBeGreaterThan(30);
    expect([...secrets, ...hashes].filter((value) => logs.includes(value))).toEqual([]);
    expect(logs).not.toMatch(/sk-[A-Za-z0-9]{8}\./);
  });
});

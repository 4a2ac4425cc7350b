/**
 * The bootstrap path without an identity provider (docs/API.md §2): the CLI, run as its own
 * process against a fresh database, creates, lists and revokes keys and deactivates users;
 * a gateway on the same database (no OIDC variables at all) accepts and refuses them.
 *
 * How the CLI is run: its sources are transpiled once, in beforeAll, into a private
 * directory under node_modules/.cache (so `node_modules` resolves as usual) and run with
 * plain `node`. Not `dist/`: it may be stale or missing, and `npm run build` racing with
 * another build (a developer's, another test's) could hand us half-written files. Not
 * `tsc`: a full type check costs ~8 s per run and is `npm run typecheck`'s job. The
 * transpilation is the one ts-jest applies to the code every other e2e suite loads.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Controller, Get, Module } from '@nestjs/common';
import * as ts from 'typescript';
import { ApiKeyService } from '../src/auth/api-key.service';
import { Authenticated, CurrentPrincipal } from '../src/auth/decorators';
import type { Principal } from '../src/auth/principal';
import { bearer, client, startTestApp, TestApp } from './support/app';
import { createTestDatabase, TestDatabase } from './support/database';
import { aKey, aKeyHolder, waitFor } from './support/kit';

/** Accepts every scheme and tells who called: proof that a CLI key authenticates. */
@Authenticated()
@Controller('probe')
class WhoAmIController {
  @Get('whoami')
  whoami(@CurrentPrincipal() principal: Principal): Principal {
    return principal;
  }
}

@Module({ controllers: [WhoAmIController] })
class WhoAmIModule {}

const ROOT = path.resolve(__dirname, '..');
const KEY_SHAPE = /^sk-[A-Za-z0-9]{8}\.[A-Za-z0-9_-]{43}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** docs/API.md §2: revocations and deactivations reach every instance within 5 seconds. */
const PROPAGATION_BOUND_MS = 5_000;

/** Transpiles src/ (as tsconfig.build.json compiles it) into `outDir`; returns the CLI's path. */
function transpileCli(outDir: string): string {
  const configFile = path.join(ROOT, 'tsconfig.build.json');
  const { config, error } = ts.readConfigFile(configFile, (file) => ts.sys.readFile(file));
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
  const compilerOptions: ts.CompilerOptions = {
    ...parsed.options,
    incremental: false,
    tsBuildInfoFile: undefined,
    sourceMap: false,
    declaration: false,
  };
  const sources = parsed.fileNames.filter((file) => file.startsWith(path.join(ROOT, 'src') + path.sep));
  for (const file of sources) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file });
    const target = path.join(outDir, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  return path.join(outDir, 'src', 'cli.js');
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

// A CLI run boots a Nest context (~1-2 s) and the propagation checks wait up to 5 s.
// (The e2e project's testTimeout in jest.config.js is not applied by jest 30: it is global-only.)

describe('CLI without an identity provider (e2e)', () => {
  const buildDir = path.join(ROOT, 'node_modules', '.cache', `cli-e2e-${process.pid}-${randomBytes(4).toString('hex')}`);
  let cliPath: string;
  let db: TestDatabase;
  let gateway: TestApp | undefined;

  /** Runs the CLI as its own process with DATABASE_URL only: no OIDC variable reaches it. */
  function cli(...args: string[]): Promise<CliResult> {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: db.url, LOG_LEVEL: 'warn' };
    return new Promise((resolve) => {
      execFile(process.execPath, [cliPath, ...args], { cwd: ROOT, env, timeout: 30_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function aCliKey(user: string, name?: string): Promise<{ id: string; key: string; key_prefix: string }> {
    const result = await cli('keys', 'create', '--user', user, ...(name ? ['--name', name] : []), '--json');
    expect(result).toMatchObject({ code: 0 });
    return JSON.parse(result.stdout) as { id: string; key: string; key_prefix: string };
  }

  /** A supporting key of a local user, made in-process: only the keys a test is about come from the CLI. */
  async function aLocalKey(user: string, name?: string): Promise<{ id: string; key: string; key_prefix: string }> {
    const made = await aKey(running(), { holder: await aKeyHolder(running(), user), name });
    return { id: made.id, key: made.key, key_prefix: made.prefix };
  }

  function running(): TestApp {
    if (!gateway) throw new Error('the gateway did not start');
    return gateway;
  }
  const whoami = (auth: string) => client(running().url)('GET', '/probe/whoami', { auth: bearer(auth) });
  const me = (auth: string) => client(running().url)('GET', '/api/v1/auth/me', { auth: bearer(auth) });

  /** Polls the gateway until it refuses `key` (every answer before that a 200); fails past the bound. */
  const refusedWithinBound = (key: string) =>
    waitFor(
      'the gateway to refuse the key',
      async () => {
        const { status } = await whoami(key);
        if (status !== 401) expect(status).toBe(200);
        return status === 401;
      },
      PROPAGATION_BOUND_MS,
      100,
    );

  const localUserId = async (name: string): Promise<string> =>
    (await db.query<{ id: string }>(`SELECT id FROM users WHERE issuer = 'local' AND subject = $1`, [name]))[0]?.id;

  beforeAll(async () => {
    db = await createTestDatabase('cli');
    cliPath = transpileCli(buildDir);
  });

  afterAll(async () => {
    await gateway?.close();
    await db?.drop();
    rmSync(buildDir, { recursive: true, force: true });
  });

  it('keys create on a fresh database migrates it, creates the local user and prints the key alone on stdout', async () => {
    const result = await cli('keys', 'create', '--user', 'ci', '--name', 'x');

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^sk-[A-Za-z0-9]{8}\.[A-Za-z0-9_-]{43}\n$/);
    const key = result.stdout.trim();
    expect(
      await db.query(`SELECT u.issuer, u.subject, k.name, k.key_prefix, k.is_default FROM api_keys k JOIN users u ON u.id = k.user_id`),
    ).toEqual([{ issuer: 'local', subject: 'ci', name: 'x', key_prefix: key.slice(3, 11), is_default: true }]);
    expect(result.stderr).not.toContain(key);
  });

  describe('with a gateway on the same database and no identity provider', () => {
    beforeAll(async () => {
      gateway = await startTestApp({ DATABASE_URL: db.url }, { extraImports: [WhoAmIModule] });
    });

    it('the gateway accepts a CLI key: authenticated (403 on /auth/me, which takes user tokens), where a wrong key is a 401', async () => {
      const key = (await cli('keys', 'create', '--user', 'ci', '--name', 'accepted')).stdout.trim();
      expect(key).toMatch(KEY_SHAPE);
      const wrongKey = `${key.slice(0, 12)}${key.slice(12).split('').reverse().join('')}`;

      const accepted = await me(key);
      const refused = await me(wrongKey);

      expect({ status: accepted.status, body: accepted.body }).toEqual({
        status: 403,
        body: {
          detail: expect.stringMatching(/user token/i),
          error: { message: expect.stringMatching(/user token/i), type: 'permission_error', param: null, code: 'user_token_required' },
        },
      });
      expect({ status: refused.status, wwwAuthenticate: refused.headers.get('www-authenticate') }).toEqual({
        status: 401,
        wwwAuthenticate: 'Bearer',
      });
      const principal = await whoami(key);
      expect(principal.status).toBe(200);
      expect(principal.body).toMatchObject({ scheme: 'api-key', userId: await localUserId('ci'), apiKeyPrefix: key.split('.')[0] });
      expect((await whoami(wrongKey)).status).toBe(401);
    });

    it('keys create --json prints {id, key, key_prefix}; a second key of the same user is not the default', async () => {
      const result = await cli('keys', 'create', '--user', 'json-user', '--json');
      const second = await aCliKey('json-user');

      expect(result.code).toBe(0);
      const created = JSON.parse(result.stdout) as Record<string, string>;
      expect(created).toEqual({
        id: expect.stringMatching(UUID),
        key: expect.stringMatching(KEY_SHAPE),
        key_prefix: created.key.split('.')[0],
      });
      expect((await whoami(created.key)).body).toMatchObject({ apiKeyId: created.id });
      expect((await whoami(second.key)).body).toMatchObject({ apiKeyId: second.id, userId: (await whoami(created.key)).body.userId });
      expect(
        await db.query(`SELECT id, is_default FROM api_keys WHERE id IN ($1, $2) ORDER BY created_at`, [created.id, second.id]),
      ).toEqual([
        { id: created.id, is_default: true },
        { id: second.id, is_default: false },
      ]);
    });

    it("keys list --user lists the user's keys (newest first) without any secret", async () => {
      const first = await aLocalKey('lister', 'first');
      const second = await aLocalKey('lister', 'second');
      await aLocalKey('someone-else');

      const text = await cli('keys', 'list', '--user', 'lister');
      const json = await cli('keys', 'list', '--user', 'lister', '--json');

      expect(text.code).toBe(0);
      const lines = text.stdout.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(new RegExp(`^${second.id}\\s+${second.key_prefix}\\s+active\\s+second$`));
      expect(lines[1]).toMatch(new RegExp(`^${first.id}\\s+${first.key_prefix}\\s+active\\s+default\\s+first$`));
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual([
        { id: second.id, name: 'second', key_prefix: second.key_prefix, is_default: false, is_active: true },
        { id: first.id, name: 'first', key_prefix: first.key_prefix, is_default: true, is_active: true },
      ]);
      for (const output of [text, json]) {
        for (const { key } of [first, second]) {
          expect(output.stdout + output.stderr).not.toContain(key.split('.')[1]);
        }
        expect(output.stdout).not.toMatch(/sk-[A-Za-z0-9]{8}\./);
        expect(output.stdout).not.toMatch(/[0-9a-f]{64}/);
      }
    });

    it('keys revoke <id>: the running gateway (another process) refuses the key within 5 s', async () => {
      const doomed = await aCliKey('ci', 'doomed');
      const kept = await aLocalKey('ci');
      // The gateway has just verified (and cached) the key: the bound is the cache's, not a cold read.
      expect((await whoami(doomed.key)).status).toBe(200);

      const result = await cli('keys', 'revoke', doomed.id);

      expect(result.code).toBe(0);
      expect(result.stdout).toContain(doomed.key_prefix);
      await refusedWithinBound(doomed.key);
      expect((await whoami(kept.key)).status).toBe(200);
      expect(await db.query(`SELECT is_active, revoked_at IS NOT NULL AS revoked FROM api_keys WHERE id = $1`, [doomed.id])).toEqual([
        { is_active: false, revoked: true },
      ]);
    });

    it('keys revoke of an unknown, already revoked or malformed id fails with exit code 1', async () => {
      const { id } = await aLocalKey('revoker');
      await running().app.get(ApiKeyService).revokeById(id);

      const targets = [id, '00000000-0000-4000-8000-000000000000', 'not-a-uuid'];
      const results = await Promise.all(targets.map((target) => cli('keys', 'revoke', target)));
      for (const [i, result] of results.entries()) {
        expect({ target: targets[i], code: result.code, stdout: result.stdout }).toEqual({ target: targets[i], code: 1, stdout: '' });
        expect(result.stderr).toMatch(/not found/i);
      }
    });

    it("users deactivate <name>: the running gateway refuses the user's other keys within 5 s, and no one else's", async () => {
      const victim = await aCliKey('ci', 'other');
      const bystander = await aLocalKey('bystander');
      expect((await whoami(victim.key)).status).toBe(200);

      const result = await cli('users', 'deactivate', 'ci');

      expect(result.code).toBe(0);
      expect(result.stdout).toContain('ci');
      await refusedWithinBound(victim.key);
      expect((await whoami(bystander.key)).status).toBe(200);
      expect(await db.query(`SELECT is_active FROM users WHERE issuer = 'local' AND subject = 'ci'`)).toEqual([{ is_active: false }]);
    });

    it('users deactivate of an unknown user fails with exit code 1', async () => {
      const result = await cli('users', 'deactivate', 'nobody-by-that-name');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('nobody-by-that-name');
    });
  });

  it('bad usage exits with code 2 and the usage on stderr, nothing on stdout', async () => {
    const usages = [
      [],
      ['frobnicate', 'all'],
      ['keys', 'create'],
      ['keys', 'create', '--user'],
      ['keys', 'create', '--user', '--json'],
      ['keys', 'revoke'],
      ['users', 'deactivate'],
    ];
    const results = await Promise.all(usages.map((args) => cli(...args)));
    for (const [i, result] of results.entries()) {
      expect({ args: usages[i], code: result.code, stdout: result.stdout }).toEqual({ args: usages[i], code: 2, stdout: '' });
      expect(result.stderr).toContain('Usage: npm run cli -- <command>');
      expect(result.stderr).toContain('keys create --user <name>');
    }
    expect(await db.query(`SELECT subject FROM users WHERE subject = ''`)).toEqual([]);
  });
});

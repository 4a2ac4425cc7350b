// Scenario 5. Abuse: a valid caller's latency while a flood of invalid credentials runs.
// The valid caller: GET /api/v1/session with a real key (live session), a steady rate
// (--rate req/s over --valid-connections), measured alone and then during a flood of two
// concurrent autocannon instances, each in its own process, unthrottled:
//   - invalid API keys: a new random `sk-<prefix>.<secret>` on every request (every prefix
//     unknown: no cache can answer it);
//   - forged JWTs: RS256 tokens with the real issuer's `kid`, `iss` and `aud`, signed by an
//     attacker's key (--forged distinct tokens, cycled), so each one costs a signature check.
// Then RSS after the flood.
// Target (issue 7): valid p99 at most doubled by the flood; RSS bounded.
//
// Run: npm run bench:abuse   (builds bench/ into dist/, then runs dist/bench/abuse.js)
//      node dist/bench/abuse.js --duration 10 --rate 500 --valid-connections 10 --flood-connections 25
//      node dist/bench/abuse.js --flood keys|jwts|both --flood-rate 1000   (per flood process; default unthrottled)
//      node dist/bench/abuse.js --pool 10   (DB_POOL_SIZE)
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from 'jose';
import { type DevIssuer, signJwt } from '../test/support/oidc';
import {
  autocannonRun,
  machine,
  numberArg,
  openSession,
  resultRow,
  type RunResult,
  run,
  scrapeMetrics,
  type Stack,
  startIssuer,
  startStack,
  stringArg,
  target,
  withEachRequest,
} from './support';

const DURATION_S = numberArg('duration', 10);
const RATE = numberArg('rate', 500);
const VALID_CONNECTIONS = numberArg('valid-connections', 10);
const FLOOD_CONNECTIONS = numberArg('flood-connections', 25);
const FORGED = numberArg('forged', 2000);
const POOL = numberArg('pool', 10);
/** Per flood process, req/s; 0: unthrottled. */
const FLOOD_RATE = numberArg('flood-rate', 0);
/** keys, jwts or both. */
const FLOODS = (stringArg('flood', 'both') === 'both' ? 'keys,jwts' : stringArg('flood', 'both')).split(',');

type FloodResult = Pick<RunResult, 'requests' | 'latency' | 'non2xx' | 'errors' | 'timeouts' | '4xx' | '2xx'>;

/** A flood generator, in a child process (`--role keys|jwts`): reports its result over IPC. */
async function flood(): Promise<void> {
  const role = stringArg('role');
  const tokens = role === 'jwts' ? (JSON.parse(readFileSync(stringArg('tokens', ''), 'utf8')) as string[]) : [];
  let next = 0;
  const credential = () => {
    if (role === 'jwts') return tokens[next++ % tokens.length];
    const prefix = randomBytes(6)
      .toString('base64url')
      .replace(/[^A-Za-z0-9]/g, 'x')
      .slice(0, 8);
    return `sk-${prefix}.${randomBytes(32).toString('base64url')}`;
  };
  const rate = numberArg('rate', 0);
  const result = await autocannonRun({
    url: stringArg('url', ''),
    connections: numberArg('connections', 25),
    duration: numberArg('duration', 10),
    ...(rate ? { overallRate: rate } : {}),
    ...withEachRequest(credential),
  });
  const { requests, latency, non2xx, errors, timeouts } = result;
  const reported: FloodResult = { requests, latency, non2xx, errors, timeouts, '4xx': result['4xx'], '2xx': result['2xx'] };
  process.send?.({ role, result: reported });
}

function startFlood(role: string, url: string, duration: number, tokensFile?: string): Promise<FloodResult> {
  const args = [
    '--role',
    role,
    '--url',
    url,
    '--duration',
    String(duration),
    '--connections',
    String(FLOOD_CONNECTIONS),
    '--rate',
    String(FLOOD_RATE),
  ];
  if (tokensFile) args.push('--tokens', tokensFile);
  const child = fork(__filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((done, fail) => {
    child.once('message', (message: { result: FloodResult }) => done(message.result));
    child.once('exit', (code) => (code ? fail(new Error(`flood ${role} exited ${code}`)) : undefined));
  });
}

/** RS256 tokens that name the real issuer, audience and kid, signed by a key the issuer never had. */
async function forgedTokens(issuer: DevIssuer, count: number): Promise<string[]> {
  const { privateKey } = await generateKeyPair('RS256');
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    tokens.push(
      await signJwt(
        issuer,
        { sub: `forger-${i}`, jti: randomBytes(8).toString('hex') },
        { key: privateKey, kid: issuer.privateJwk.kid, expiresIn: 3600 },
      ),
    );
  }
  return tokens;
}

const floodRow = (name: string, r: FloodResult) => ({
  scenario: name,
  'req/s (mean)': Math.round(r.requests.average),
  'p50 (ms)': r.latency.p50,
  'p99 (ms)': r.latency.p99,
  'max (ms)': r.latency.max,
  requests: r.requests.total,
  'non-2xx/errors': r.non2xx + r.errors + r.timeouts,
});

async function main(): Promise<void> {
  console.log(machine());
  console.log(
    `valid caller: GET /api/v1/session (API key), ${RATE} req/s over ${VALID_CONNECTIONS} connections, ${DURATION_S} s; ` +
      `flood: ${FLOODS.join(' + ')}, one process each, ${FLOOD_CONNECTIONS} connections, ${FLOOD_RATE ? `${FLOOD_RATE} req/s each` : 'unthrottled'} ` +
      `(random API keys; ${FORGED} forged RS256 JWTs); ` +
      `DB_POOL_SIZE ${POOL}; RATE_LIMIT_PER_MIN raised to 10,000,000 (out of the way)`,
  );
  const issuer = await startIssuer();
  const dir = mkdtempSync(join(tmpdir(), 'gw-bench-abuse-'));
  let stack: Stack | undefined;
  try {
    stack = await startStack({ ...issuer.gatewayEnv, DB_POOL_SIZE: String(POOL), SESSION_SWEEP_INTERVAL_S: '3600' });
    const forged = await forgedTokens(issuer, FORGED);
    const tokensFile = join(dir, 'forged.json');
    writeFileSync(tokensFile, JSON.stringify(forged));
    const [key] = await stack.keys(1);
    await openSession(stack, key);
    const forgedCheck = await stack.api.current(`Bearer ${forged[0]}`);
    if (forgedCheck.status !== 401) throw new Error(`a forged JWT was answered ${forgedCheck.status}`);

    const valid = {
      url: `${stack.gateway.url}/api/v1/session`,
      connections: VALID_CONNECTIONS,
      overallRate: RATE,
      headers: { authorization: key.auth },
    };
    await autocannonRun({ ...valid, duration: 2 }); // warm-up
    const rssStart = stack.gateway.rssMiB();
    const alone = await autocannonRun({ ...valid, duration: DURATION_S });
    const rssBefore = stack.gateway.rssMiB();

    const metricsBefore = await scrapeMetrics(stack.gateway.url);
    // The floods start first and outlast the measured run by a second on each side.
    const floods = Promise.all([
      FLOODS.includes('keys') ? startFlood('keys', valid.url, DURATION_S + 2) : undefined,
      FLOODS.includes('jwts') ? startFlood('jwts', valid.url, DURATION_S + 2, tokensFile) : undefined,
    ]);
    await new Promise((r) => setTimeout(r, 1_000));
    const during = await autocannonRun({ ...valid, duration: DURATION_S });
    const rssPeak = stack.gateway.rssMiB();
    const [keysFlood, jwtsFlood] = await floods;
    const metricsAfter = await scrapeMetrics(stack.gateway.url);
    const failures = (reason: string, scheme: string) =>
      (metricsAfter.get(`gateway_auth_failures_total{scheme="${scheme}",reason="${reason}"}`) ?? 0) -
      (metricsBefore.get(`gateway_auth_failures_total{scheme="${scheme}",reason="${reason}"}`) ?? 0);
    await new Promise((r) => setTimeout(r, 5_000)); // negative caches (4 s) expire
    const after = await autocannonRun({ ...valid, duration: 5 });
    const rssAfter = stack.gateway.rssMiB();

    console.table([
      resultRow('valid caller alone', alone, { 'RSS after (MiB)': rssBefore }),
      resultRow('valid caller during the flood', during, { 'RSS after (MiB)': rssPeak }),
      ...(keysFlood ? [floodRow('flood: random API keys (401)', keysFlood)] : []),
      ...(jwtsFlood ? [floodRow('flood: forged JWTs (401)', jwtsFlood)] : []),
      resultRow('valid caller 5 s after the flood', after, { 'RSS after (MiB)': rssAfter }),
    ]);
    console.log(
      `auth failures counted during the flood: api-key/unknown_key ${failures('unknown_key', 'api-key')}, ` +
        `jwt/invalid_token ${failures('invalid_token', 'jwt')}; RSS ${rssStart} MiB before, ${rssPeak} MiB at the end of the flood, ${rssAfter} MiB after`,
    );
    const ratio = during.latency.p99 / alone.latency.p99;
    console.log(`valid p99 during / alone: ${ratio.toFixed(2)} (${during.latency.p99} vs ${alone.latency.p99} ms)`);
    if (during.non2xx || during.errors || alone.non2xx) throw new Error('the valid caller got non-2xx answers');
    target('valid-caller p99 during the flood ≤ 2 × alone', ratio <= 2);
    target('RSS after the flood bounded (≤ RSS before + 64 MiB)', rssAfter <= rssStart + 64);
  } finally {
    await stack?.stop();
    await issuer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

run(stringArg('role') ? flood : main);

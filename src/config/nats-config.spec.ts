import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './app-config';

const dir = mkdtempSync(join(tmpdir(), 'nats-config-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const CREDS = file(
  'user.creds',
  '-----BEGIN NATS USER JWT-----\neyJ0eXAi\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\nSUAM\n------END USER NKEY SEED------\n',
);
const PEM = file('any.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const URL = 'nats://nats.internal:4222';

/** The message of the ConfigError `env` raises. */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('NATS credentials and TLS (loadConfig)', () => {
  it('has no credential, no TLS and a 900 KiB message limit by default', () => {
    const config = loadConfig({ NATS_URL: URL });
    expect(config.microservice).toMatchObject({ natsUrl: URL, nats: {}, messageMaxBytes: 921_600 });
    expect(config.microservice.nats.tls).toBeUndefined();
    expect(loadConfig({}).microservice.messageMaxBytes).toBe(921_600);
  });

  it('takes user and password out of NATS_URL (nats.js would ignore them) and never keeps them in the URL', () => {
    const config = loadConfig({ NATS_URL: 'nats://gateway:s%40cret@nats.internal:4222' });
    expect(config.microservice.natsUrl).toBe(URL);
    expect(config.microservice.nats).toMatchObject({ user: 'gateway', password: 's@cret' });
    expect(loadConfig({ NATS_URL: 'nats://t0ken@nats.internal:4222' }).microservice.nats).toMatchObject({ token: 't0ken' });
  });

  it('reads NATS_USER/NATS_PASSWORD, NATS_TOKEN and NATS_CREDS_FILE', () => {
    expect(loadConfig({ NATS_URL: URL, NATS_USER: 'gw', NATS_PASSWORD: 'pw' }).microservice.nats).toMatchObject({
      user: 'gw',
      password: 'pw',
    });
    expect(loadConfig({ NATS_URL: URL, NATS_TOKEN: 'tk' }).microservice.nats).toMatchObject({ token: 'tk' });
    expect(loadConfig({ NATS_URL: URL, NATS_CREDS_FILE: CREDS }).microservice.nats).toMatchObject({ credsFile: CREDS });
  });

  it('requires TLS for a tls:// URL or any NATS_TLS_* variable', () => {
    expect(loadConfig({ NATS_URL: 'tls://nats.internal:4222' }).microservice.nats.tls).toEqual({});
    expect(loadConfig({ NATS_URL: URL, NATS_TLS_CA: PEM }).microservice.nats.tls).toEqual({ caFile: PEM });
    expect(loadConfig({ NATS_URL: URL, NATS_TLS_CERT: PEM, NATS_TLS_KEY: PEM }).microservice.nats.tls).toEqual({
      certFile: PEM,
      keyFile: PEM,
    });
  });

  it.each<[string, Record<string, string>]>([
    ['NATS_PASSWORD', { NATS_URL: URL, NATS_USER: 'gw' }],
    ['NATS_USER', { NATS_URL: URL, NATS_PASSWORD: 'pw' }],
    ['NATS_TOKEN', { NATS_URL: URL, NATS_USER: 'gw', NATS_PASSWORD: 'pw', NATS_TOKEN: 'tk' }],
    ['NATS_CREDS_FILE', { NATS_URL: URL, NATS_TOKEN: 'tk', NATS_CREDS_FILE: CREDS }],
    ['NATS_USER', { NATS_URL: 'nats://a:b@nats.internal:4222', NATS_USER: 'gw', NATS_PASSWORD: 'pw' }],
    ['NATS_TOKEN', { NATS_URL: 'nats://tk@nats.internal:4222', NATS_TOKEN: 'tk' }],
    ['NATS_TLS_KEY', { NATS_URL: URL, NATS_TLS_CERT: PEM }],
    ['NATS_TLS_CERT', { NATS_URL: URL, NATS_TLS_KEY: PEM }],
    ['NATS_TOKEN', { NATS_TOKEN: 'tk' }],
    ['NATS_TLS_CA', { NATS_TLS_CA: PEM }],
    ['NATS_CREDS_FILE', { NATS_URL: URL, NATS_CREDS_FILE: join(dir, 'missing.creds') }],
    ['NATS_CREDS_FILE', { NATS_URL: URL, NATS_CREDS_FILE: PEM }],
    ['NATS_CREDS_FILE', { NATS_URL: URL, NATS_CREDS_FILE: dir }],
    ['NATS_TLS_CA', { NATS_URL: URL, NATS_TLS_CA: join(dir, 'missing.pem') }],
    ['MESSAGE_MAX_BYTES', { MESSAGE_MAX_BYTES: '100' }],
  ])('refuses an inconsistent or unusable setting, naming %s', (name, env) => {
    expect(refusal(env)).toMatch(new RegExp(`^Invalid environment variable ${name}\\b`));
  });

  it('never echoes a NATS secret', () => {
    const messages = [
      refusal({ NATS_URL: URL, NATS_PASSWORD: 'hunter2' }),
      refusal({ NATS_URL: URL, NATS_USER: 'gw', NATS_PASSWORD: 'hunter2', NATS_TOKEN: 'hunter3' }),
      refusal({ NATS_URL: 'nats://gw:hunter2@nats.internal:4222', NATS_TOKEN: 'hunter3' }),
      refusal({ NATS_URL: 'ftp://gw:hunter2@nats.internal' }),
    ];
    for (const message of messages) expect(message).not.toMatch(/hunter/);
  });
});

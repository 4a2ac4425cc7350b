import { natsConnectOptions } from './nats-connection';

describe('natsConnectOptions', () => {
  it('reconnects forever and waits for the first connection, with no credential by default', () => {
    const options = natsConnectOptions('nats://127.0.0.1:4222');
    expect(options).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      waitOnFirstConnect: true,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  });

  it('maps user/password, token and a creds file to nats.js options', () => {
    expect(natsConnectOptions('nats://h:4222', { user: 'gw', password: 'pw' })).toMatchObject({ user: 'gw', pass: 'pw' });
    expect(natsConnectOptions('nats://h:4222', { token: 'tk' })).toMatchObject({ token: 'tk' });
    const creds = natsConnectOptions('nats://h:4222', { credsFile: '/run/secrets/gw.creds' });
    expect(typeof creds.authenticator).toBe('function');
    expect(creds.user).toBeUndefined();
  });

  it('uses credentials inside the URL and strips them from the server address', () => {
    expect(natsConnectOptions('nats://gw:p%40ss@h:4222')).toMatchObject({ servers: ['nats://h:4222'], user: 'gw', pass: 'p@ss' });
    expect(natsConnectOptions('nats://tk@h:4222')).toMatchObject({ servers: ['nats://h:4222'], token: 'tk' });
    // An explicit credential wins over the URL's (the gateway's config refuses both at once).
    expect(natsConnectOptions('nats://a:b@h:4222', { token: 'tk' })).toMatchObject({ servers: ['nats://h:4222'], token: 'tk' });
    expect(natsConnectOptions('nats://a:b@h:4222', { token: 'tk' }).user).toBeUndefined();
  });

  it('maps the TLS files; an empty TLS object still requires TLS', () => {
    expect(natsConnectOptions('tls://h:4222', { tls: {} }).tls).toEqual({});
    expect(natsConnectOptions('nats://h:4222', { tls: { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' } }).tls).toEqual({
      caFile: '/ca.pem',
      certFile: '/c.pem',
      keyFile: '/k.pem',
    });
    expect(natsConnectOptions('nats://h:4222').tls).toBeUndefined();
  });
});

import { readFileSync } from 'node:fs';
import { credsAuthenticator, type ConnectionOptions } from 'nats';
import type { NatsConnectionConfig } from '../config/app-config';

/**
 * nats.js connection options for one server: its credential and TLS (docs/API.md §6), and
 * survival of outages (never give up reconnecting, wait for the first connection). Shared
 * by the listener, the event relay and the typed client, so all three log in the same way.
 */
export function natsConnectOptions(url: string, auth: NatsConnectionConfig = {}): ConnectionOptions {
  const { servers, user, password, token } = withUrlCredentials(url, auth);
  const options: ConnectionOptions = {
    servers: [servers],
    waitOnFirstConnect: true,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  };
  if (user !== undefined) Object.assign(options, { user, pass: password ?? '' });
  if (token !== undefined) options.token = token;
  if (auth.credsFile !== undefined) {
    const file = auth.credsFile;
    // Read at every (re)connection: a rotated file is picked up without a restart.
    options.authenticator = credsAuthenticator(() => readFileSync(file));
  }
  if (auth.tls) {
    const { caFile, certFile, keyFile } = auth.tls;
    // An object (even empty) makes nats.js require TLS; the files are read by nats.js itself.
    options.tls = { ...(caFile && { caFile }), ...(certFile && { certFile }), ...(keyFile && { keyFile }) };
  }
  return options;
}

/**
 * nats.js drops a URL's `user:password@` without using it (the server then answers
 * "Authorization Violation"); it is taken out here and sent as a credential.
 */
function withUrlCredentials(
  url: string,
  auth: NatsConnectionConfig,
): { servers: string; user?: string; password?: string; token?: string } {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // not a URL nats.js would take either: let it report the problem
  }
  const servers = parsed && (parsed.username || parsed.password) ? url.replace(/\/\/[^@/]*@/, '//') : url;
  let { user, password, token } = auth;
  if (parsed?.username && user === undefined && token === undefined && auth.credsFile === undefined) {
    if (parsed.password) {
      user = decodeURIComponent(parsed.username);
      password = decodeURIComponent(parsed.password);
    } else {
      token = decodeURIComponent(parsed.username);
    }
  }
  return { servers, user, password, token };
}

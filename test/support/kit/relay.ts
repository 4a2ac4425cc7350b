import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface RelayedRequest {
  method: string;
  path: string;
}

/**
 * An HTTP relay in front of the simulator: the gateway talks to it as to the node. It logs
 * every request (so tests can count opens per model), can go down (connection refused,
 * open connections dropped) and come back on the same port while the simulator keeps its
 * chain state, and can hold requests before they reach the simulator until the test
 * releases them (so a test sees how many were in flight at once, and what answered meanwhile).
 */
export interface NodeRelay {
  url: string;
  requests: RelayedRequest[];
  /** From now on, requests that `match` wait at the relay until release(). */
  hold(match: (request: RelayedRequest) => boolean): void;
  /** How many requests are held now (their callers still waiting). */
  held(): number;
  /** Sends every held request on to the simulator and stops holding. */
  release(): void;
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** The node's open route (POST /blockchain/models/{id}/session): what tests hold to catch an open in flight. */
export const isOpenRequest = (r: RelayedRequest): boolean => r.method === 'POST' && /^\/blockchain\/models\/[^/]+\/session$/.test(r.path);

export async function startNodeRelay(targetUrl: string): Promise<NodeRelay> {
  const target = new URL(targetUrl);
  const requests: RelayedRequest[] = [];
  const sockets = new Set<Socket>();
  let holding: ((request: RelayedRequest) => boolean) | undefined;
  const waiting = new Map<ServerResponse, () => void>();
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    // The gateway gave up (its deadline): drop the call upstream too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };
  const relay = (req: IncomingMessage, res: ServerResponse): void => {
    const entry = { method: req.method ?? 'GET', path: req.url ?? '/' };
    requests.push(entry);
    if (!holding?.(entry)) return forward(req, res);
    waiting.set(res, () => forward(req, res));
    // A caller that gives up while held is no longer in flight.
    res.once('close', () => waiting.delete(res));
  };
  const server: Server = createServer(relay);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const listen = (port: number) =>
    new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', fail);
        done();
      });
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  const release = () => {
    holding = undefined;
    const pending = [...waiting.values()];
    waiting.clear();
    for (const send of pending) send();
  };
  const down = async () => {
    if (!server.listening) return;
    const closed = new Promise<void>((done) => server.close(() => done()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    hold: (match) => (holding = match),
    held: () => waiting.size,
    release,
    down,
    up: () => listen(port),
    stop: down,
  };
}

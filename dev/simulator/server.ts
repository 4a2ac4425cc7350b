import { timingSafeEqual } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blockchainRoutes } from './blockchain-routes';
import { chatRoute } from './chat-route';
import { CONTROL_PREFIX, controlHandler } from './control-routes';
import type { OperationCounts } from './fault-plan';
import { isAbort, sendJson, sendText } from './http-io';
import { MarketplaceStore } from './marketplace';
import { type MarketplaceFixture, describeMarketplace } from './marketplace-fixture';
import { runOperation } from './operation-runner';
import { type Route, matchRoute } from './route-types';
import { SessionLedger, systemClock } from './session-ledger';
import { WalletState } from './wallet-state';
import { SessionQueue } from './session-queue';
import { NodeErrors, SimError } from './sim-error';
import { SimulatorControl } from './simulator-control';
import { errorBody } from './wire';

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** With both set, every node route except /healthcheck requires this basic auth. */
  username?: string;
  password?: string;
  /** Seeds the marketplace's ids and addresses (default "morpheus-sim"). */
  seed?: string | number;
}

export interface Simulator {
  /** Base URL, e.g. http://127.0.0.1:43121 (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly control: SimulatorControl;
  /** The current marketplace (after reset: the seeded one). */
  readonly marketplace: MarketplaceFixture;
  readonly walletAddress: string;
  counts(): OperationCounts;
  reset(): void;
  stop(): Promise<void>;
}

function authorizer(options: SimulatorOptions): (req: IncomingMessage) => boolean {
  if (options.username === undefined || options.password === undefined) return () => true;
  const expected = Buffer.from(`Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`);
  return (req) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
}

function renderError(res: ServerResponse, error: unknown): void {
  // The server is stopping: the connection is being dropped, as a dying node would.
  if (isAbort(error)) return void res.destroy();
  if (error instanceof SimError) return sendJson(res, error.status, errorBody(error.message));
  sendJson(res, 500, errorBody(error instanceof Error ? error.message : String(error)));
}

interface Wiring {
  routes: Route[];
  control: SimulatorControl;
  store: MarketplaceStore;
  authorized: (req: IncomingMessage) => boolean;
  signal: AbortSignal;
}

function requestHandler(wiring: Wiring) {
  const control = controlHandler(wiring.control, wiring.store);
  const deps = { plan: wiring.control.plan, gate: wiring.control.gate, held: wiring.control.held, signal: wiring.signal };
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    if (url.pathname.startsWith(CONTROL_PREFIX)) return control(req, res, url.pathname);
    const found = matchRoute(wiring.routes, req.method ?? 'GET', url.pathname);
    // gin's answer for an unknown route.
    if (!found) return sendText(res, 404, '404 page not found', 'text/plain');
    if (!found.route.public && !wiring.authorized(req)) {
      res.setHeader('www-authenticate', 'Basic realm="proxy-router"');
      return sendJson(res, 401, errorBody(NodeErrors.unauthorized));
    }
    await runOperation(deps, found.route, { req, res, url, params: found.params }).catch((error: unknown) => renderError(res, error));
  };
}

function wire(options: SimulatorOptions, signal: AbortSignal): Wiring {
  const store = new MarketplaceStore(String(options.seed ?? 'morpheus-sim'));
  const wallet = new WalletState();
  // Opens stake by the settable supply and budget, so the wallet's reads predict the stakes.
  const ledger = new SessionLedger(
    () => store.current,
    systemClock,
    () => wallet.current,
  );
  const control = new SimulatorControl(store, ledger, wallet);
  const chat = chatRoute({ ledger, rules: control.chatRules, queue: new SessionQueue(), held: control.held, signal });
  const routes: Route[] = [
    ...blockchainRoutes({ store, ledger, opens: control.opens, wallet: control.wallet, startedAt: Date.now() }),
    chat,
  ];
  return { routes, control, store, authorized: authorizer(options), signal };
}

/** Starts a proxy-router simulator on 127.0.0.1 (by default on a random port). */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const stopping = new AbortController();
  const wiring = wire(options, stopping.signal);
  const handle = requestHandler(wiring);
  const server = createServer((request, response) => void handle(request, response));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const stop = async (): Promise<void> => {
    stopping.abort();
    wiring.control.releaseHeld();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    control: wiring.control,
    get marketplace() {
      return describeMarketplace(wiring.store.current);
    },
    walletAddress: wiring.store.current.wallet,
    counts: () => wiring.control.counts(),
    reset: () => wiring.control.reset(),
    stop,
  };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse } from 'lossless-json';
import { ALL_SESSIONS, BUSY_STATUSES, type BusyStatus, CHAT_MODES, type ChatBehaviour, type ChatMode } from './chat-behaviour';
import { type FailNextOptions, type SimOperation, isOperation } from './fault-plan';
import { readBody, sendJson } from './http-io';
import { describeMarketplace } from './marketplace-fixture';
import type { MarketplaceStore } from './marketplace';
import { SimError, UnknownEntityError } from './sim-error';
import type { SimulatorControl } from './simulator-control';
import { type BigIntEncoding, type WalletNumbers } from './wallet-state';
import { type WireObject, type WireValue, sessionToWire } from './wire';

/** HTTP face of SimulatorControl, under /__sim/ (never behind the node's basic auth). */
export const CONTROL_PREFIX = '/__sim/';

type Body = Record<string, unknown>;
interface ControlRoute {
  method: 'GET' | 'POST';
  pattern: RegExp;
  handle(body: Body, params: string[]): WireValue;
}

class ControlInputError extends Error {}

// Integers beyond 2^53 (an EndsAt) arrive exact as bigint; everything else as numbers.
const parseNumber = (text: string): number | bigint => {
  const value = Number(text);
  return Number.isSafeInteger(value) || !/^-?\d+$/.test(text) ? value : BigInt(text);
};

function parseBody(text: string): Body {
  if (text.trim() === '') return {};
  const value = parse(text, undefined, parseNumber);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ControlInputError('body must be a JSON object');
  }
  return value as Body;
}

function operation(body: Body): SimOperation {
  if (!isOperation(body.op)) throw new ControlInputError(`unknown op ${String(body.op)}`);
  return body.op;
}

const optionalNumber = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const optionalString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const optionalBigint = (value: unknown): bigint | undefined =>
  typeof value === 'bigint' ? value : typeof value === 'number' || typeof value === 'string' ? BigInt(value) : undefined;

function chatBehaviour(body: Body): ChatBehaviour | null {
  const mode = body.mode;
  if (mode === null || mode === undefined) return null;
  if (!CHAT_MODES.includes(mode as ChatMode)) throw new ControlInputError(`unknown chat mode ${JSON.stringify(mode)}`);
  if (mode === 'normal') {
    return { mode, chunks: optionalNumber(body.chunks), chunkDelayMs: optionalNumber(body.chunkDelayMs) };
  }
  if (mode === 'error') {
    const afterChunks = optionalNumber(body.afterChunks);
    return { mode, status: optionalNumber(body.status), error: optionalString(body.error), afterChunks };
  }
  if (mode === 'busy') {
    const status = optionalNumber(body.status);
    if (status !== undefined && !BUSY_STATUSES.includes(status)) throw new ControlInputError('a busy status is 429 or 503');
    return { mode, status: status as BusyStatus | undefined };
  }
  return { mode: mode as 'hang' | 'expired' };
}

/** A POST that changes the simulator and answers `{"ok": true}`. */
function command(pattern: RegExp, run: (body: Body, params: string[]) => void): ControlRoute {
  return { method: 'POST', pattern, handle: (body, params) => (run(body, params), { ok: true }) };
}

function failNextOptions(b: Body): FailNextOptions {
  return {
    times: optionalNumber(b.times),
    status: optionalNumber(b.status),
    error: optionalString(b.error),
    body: b.body === undefined ? undefined : (b.body as WireValue),
    commit: b.commit === true,
  };
}

function faultRoutes(control: SimulatorControl): ControlRoute[] {
  return [
    command(/^latency$/, (b) => control.setLatency(operation(b), Number(b.ms))),
    command(/^fail-next$/, (b) => control.failNext(operation(b), failNextOptions(b))),
    command(/^hang-next$/, (b) => control.hangNext(operation(b), { times: optionalNumber(b.times), commit: b.commit === true })),
    command(/^nonce-conflict$/, (b) => control.setNonceConflict(optionalNumber(b.maxConcurrentWrites) ?? null)),
    command(/^chat-behaviour$/, (b) => control.setChatBehaviour(optionalString(b.sessionId) ?? ALL_SESSIONS, chatBehaviour(b))),
    command(/^release-held$/, () => control.releaseHeld()),
  ];
}

function commitSession(control: SimulatorControl, b: Body): WireObject {
  const sessionDuration = optionalBigint(b.sessionDuration) ?? 3600n;
  const session = control.commitSession({ bidId: optionalString(b.bidId), modelId: optionalString(b.modelId), sessionDuration });
  return { sessionID: session.id };
}

function stateRoutes(control: SimulatorControl, store: MarketplaceStore): ControlRoute[] {
  const get = (pattern: RegExp, handle: () => WireValue): ControlRoute => ({ method: 'GET', pattern, handle });
  const post = (pattern: RegExp, handle: ControlRoute['handle']): ControlRoute => ({ method: 'POST', pattern, handle });
  return [
    get(/^counts$/, () => ({ ...control.counts() })),
    command(/^counts\/reset$/, () => control.resetCounts()),
    command(/^reset$/, () => control.reset()),
    get(/^marketplace$/, () => describeMarketplace(store.current) as unknown as WireObject),
    get(/^sessions$/, () => ({ sessions: control.sessions().map(sessionToWire) })),
    get(/^opens$/, () => ({ opens: control.receivedOpens().map((open) => ({ ...open })) })),
    post(/^sessions$/, (b) => commitSession(control, b)),
    post(/^sessions\/([^/]+)\/expire$/, (b, [id]) => sessionToWire(control.expireSession(id, optionalBigint(b.endsAt)))),
    post(/^sessions\/([^/]+)\/close-by-node$/, (_, [id]) => sessionToWire(control.closeSessionByNode(id))),
    command(/^bids\/([^/]+)\/delete$/, (_, [id]) => control.deleteBid(id)),
    command(/^models\/([^/]+)\/delete$/, (_, [id]) => control.deleteModel(id)),
  ];
}

const WALLET_FIELDS = ['eth', 'mor', 'budget', 'supply', 'available', 'hold'] as const;

// Numbers or decimal strings, of any size (control bodies parse big numbers as bigint).
function walletNumbers(b: Body): Partial<WalletNumbers> {
  const values: Partial<WalletNumbers> = {};
  for (const field of WALLET_FIELDS) values[field] = optionalBigint(b[field]);
  return values;
}

const withdrawToWire = (w: { iterations: number; amount: bigint; tx: string }): WireObject => ({ ...w, amount: w.amount.toString() });

/**
 * The wallet's money and the marketplace's economics:
 * - `POST wallet` `{eth?, mor?, budget?, supply?, available?, hold?}` (wei, numbers or decimal
 *   strings) sets them and `GET wallet` reads them, as decimal strings;
 * - `POST bigint-encoding` `{encoding: "string" | "number"}`: how balance, budget and supply are written;
 * - `GET withdraws`: every withdraw that landed `{iterations, amount, tx}`;
 * - `POST bids/{id}/price` `{pricePerSecond}`;
 * - `POST providers/{address}/capacity-refusal` `{refuses?: boolean}` (default true): opens on
 *   that provider's bids answer "failed to initiate session: no capacity".
 * Calls of the node routes are counted as `balance`, `budget`, `supply`, `onHold`, `withdraw`.
 */
function moneyRoutes(control: SimulatorControl): ControlRoute[] {
  const numbersToWire = (): WireObject => Object.fromEntries(Object.entries(control.walletNumbers()).map(([k, v]) => [k, String(v)]));
  return [
    // Answers the numbers after the change, as decimal strings.
    { method: 'POST', pattern: /^wallet$/, handle: (b) => (control.setWallet(walletNumbers(b)), numbersToWire()) },
    { method: 'GET', pattern: /^wallet$/, handle: () => numbersToWire() },
    command(/^bigint-encoding$/, (b) => control.setBigIntEncoding(b.encoding as BigIntEncoding)),
    { method: 'GET', pattern: /^withdraws$/, handle: () => ({ withdraws: control.receivedWithdraws().map(withdrawToWire) }) },
    command(/^bids\/([^/]+)\/price$/, (b, [id]) => {
      const price = optionalBigint(b.pricePerSecond);
      if (price === undefined) throw new ControlInputError('pricePerSecond is required');
      control.setBidPrice(id, price);
    }),
    command(/^providers\/([^/]+)\/capacity-refusal$/, (b, [provider]) => control.setCapacityRefusal(provider, b.refuses !== false)),
  ];
}

function statusOf(error: unknown): number {
  if (error instanceof UnknownEntityError) return 404;
  if (error instanceof SimError) return error.status;
  const badInput = error instanceof ControlInputError || error instanceof SyntaxError || error instanceof RangeError;
  return badInput ? 400 : 500;
}

export function controlHandler(control: SimulatorControl, store: MarketplaceStore) {
  const routes = [...faultRoutes(control), ...stateRoutes(control, store), ...moneyRoutes(control)];
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const rest = path.slice(CONTROL_PREFIX.length);
    for (const route of routes) {
      const match = route.method === req.method ? route.pattern.exec(rest) : null;
      if (!match) continue;
      try {
        sendJson(res, 200, route.handle(parseBody(await readBody(req)), match.slice(1).map(decodeURIComponent)));
      } catch (error) {
        // The harness gets the reason; a bad control call is a test bug, not a node answer.
        sendJson(res, statusOf(error), { error: error instanceof Error ? error.message : String(error) });
      }
      return;
    }
    sendJson(res, 404, { error: `no control route ${req.method ?? ''} ${path}` });
  };
}

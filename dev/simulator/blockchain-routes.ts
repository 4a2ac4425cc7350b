import { type MarketplaceStore, pageOf, ratedBidsOf } from './marketplace';
import {
  parseHexId,
  parseIterationsQuery,
  parseModelsPage,
  parseOpenByBidBody,
  parseOpenByModelBody,
  parsePage,
  parseUserQuery,
  parseWithdrawBody,
} from './request-params';
import { readBody } from './http-io';
import type { OpenLog } from './open-log';
import { type JsonRoute, ok } from './route-types';
import type { SessionLedger } from './session-ledger';
import { NodeErrors, serverError } from './sim-error';
import type { WalletState } from './wallet-state';
import { bidToWire, modelToWire, scoredBidToWire, sessionToWire, zeroBidToWire } from './wire';

export interface BlockchainDeps {
  store: MarketplaceStore;
  ledger: SessionLedger;
  opens: OpenLog;
  wallet: WalletState;
  startedAt: number;
}

const HEX = '([^/]+)';
export const SIMULATOR_VERSION = 'v5.0.0-simulator';

/** Go's time.Duration text, which the node's healthcheck uses for `uptime` ("1h2m3s"). */
export function goDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  if (h > 0) return `${h}h${m}m${s}s`;
  return m > 0 ? `${m}m${s}s` : `${s}s`;
}

function systemRoutes(deps: BlockchainDeps): JsonRoute[] {
  return [
    {
      kind: 'json',
      method: 'GET',
      pattern: /^\/healthcheck$/,
      op: 'health',
      public: true,
      prepare: () => () => ok({ status: 'healthy', version: SIMULATOR_VERSION, uptime: goDuration(Date.now() - deps.startedAt) }),
    },
    {
      kind: 'json',
      method: 'GET',
      pattern: /^\/wallet$/,
      op: 'wallet',
      prepare: () => () => ok({ address: deps.store.current.wallet }),
    },
  ];
}

function marketRoutes({ store }: BlockchainDeps): JsonRoute[] {
  return [
    {
      kind: 'json',
      method: 'GET',
      pattern: /^\/blockchain\/models$/,
      op: 'models',
      prepare: ({ url }) => {
        const page = parseModelsPage(url.searchParams);
        return () => {
          const models = store.current.models;
          return ok({ models: (page ? pageOf(models, page) : models).map(modelToWire) });
        };
      },
    },
    {
      // All of the model's bids, deleted ones included (DeletedAt > 0): the node pages over
      // the contract's per-model bid list; only the rated/active reads filter.
      kind: 'json',
      method: 'GET',
      pattern: new RegExp(`^/blockchain/models/${HEX}/bids$`),
      op: 'bids',
      prepare: ({ url, params }) => {
        const [modelId, page] = [parseHexId(params[0]), parsePage(url.searchParams)];
        return () =>
          ok({
            bids: pageOf(
              store.current.bids.filter((b) => b.modelId === modelId),
              page,
            ).map(bidToWire),
          });
      },
    },
    {
      kind: 'json',
      method: 'GET',
      pattern: new RegExp(`^/blockchain/models/${HEX}/bids/rated$`),
      op: 'ratedBids',
      prepare: ({ params }) => {
        const modelId = parseHexId(params[0]);
        return () => ok({ bids: ratedBidsOf(store.current, modelId).map(({ bid, score }) => scoredBidToWire(bid, score)) });
      },
    },
    {
      // An unknown id is not an error for the node: it reads the contract's zero struct.
      kind: 'json',
      method: 'GET',
      pattern: new RegExp(`^/blockchain/bids/${HEX}$`),
      op: 'bid',
      prepare: ({ params }) => {
        const id = parseHexId(params[0]);
        return () => {
          const bid = store.current.bids.find((candidate) => candidate.id === id);
          return ok({ bid: bid ? bidToWire(bid) : zeroBidToWire(id) });
        };
      },
    },
  ];
}

function openRoutes({ ledger, opens }: BlockchainDeps): JsonRoute[] {
  return [
    {
      kind: 'json',
      method: 'POST',
      pattern: new RegExp(`^/blockchain/models/${HEX}/session$`),
      op: 'openModel',
      prepare: async ({ req, params }) => {
        const body = parseOpenByModelBody(await readBody(req));
        const modelId = parseHexId(params[0]);
        opens.record({
          op: 'openModel',
          target: modelId,
          sessionDuration: body.duration,
          directPayment: body.directPayment,
          failover: body.failover,
        });
        return () => ok({ sessionID: ledger.openByModel(modelId, body.duration).id });
      },
    },
    {
      kind: 'json',
      method: 'POST',
      pattern: new RegExp(`^/blockchain/bids/${HEX}/session$`),
      op: 'openBid',
      prepare: async ({ req, params }) => {
        const body = parseOpenByBidBody(await readBody(req));
        const bidId = parseHexId(params[0]);
        opens.record({
          op: 'openBid',
          target: bidId,
          sessionDuration: body.duration,
          directPayment: body.directPayment,
          failover: body.failover,
        });
        return () => ok({ sessionID: ledger.openByBid(bidId, body.duration).id });
      },
    },
  ];
}

function sessionRoutes({ ledger }: BlockchainDeps): JsonRoute[] {
  return [
    {
      kind: 'json',
      method: 'POST',
      pattern: new RegExp(`^/blockchain/sessions/${HEX}/close$`),
      op: 'close',
      prepare: ({ params }) => {
        const id = parseHexId(params[0]);
        return () => ok({ tx: ledger.close(id) });
      },
    },
    {
      // Before the {id} route: "user" is not a session id.
      kind: 'json',
      method: 'GET',
      pattern: /^\/blockchain\/sessions\/user$/,
      op: 'userSessions',
      prepare: ({ url }) => {
        const [page, user] = [parsePage(url.searchParams), parseUserQuery(url.searchParams)];
        return () => ok({ sessions: ledger.forUser(user, page).map(sessionToWire) });
      },
    },
    {
      kind: 'json',
      method: 'GET',
      pattern: new RegExp(`^/blockchain/sessions/${HEX}$`),
      op: 'session',
      prepare: ({ params }) => {
        const id = parseHexId(params[0]);
        return () => {
          const session = ledger.get(id);
          if (!session) throw serverError(NodeErrors.sessionNotFound);
          return ok({ session: sessionToWire(session) });
        };
      },
    },
  ];
}

/** The wallet's money (v7.11): balances, the chain's budget and supply, on-hold stake and its withdraw. */
function moneyRoutes({ wallet }: BlockchainDeps): JsonRoute[] {
  const read = (pattern: RegExp, op: JsonRoute['op'], body: () => Record<string, string | bigint>): JsonRoute => ({
    kind: 'json',
    method: 'GET',
    pattern,
    op,
    prepare: () => () => ok(body()),
  });
  return [
    read(/^\/blockchain\/balance$/, 'balance', () => ({ eth: wallet.encode(wallet.current.eth), mor: wallet.encode(wallet.current.mor) })),
    read(/^\/blockchain\/sessions\/budget$/, 'budget', () => ({ budget: wallet.encode(wallet.current.budget) })),
    read(/^\/blockchain\/token\/supply$/, 'supply', () => ({ supply: wallet.encode(wallet.current.supply) })),
    {
      // structs.StakesOnHoldRes: decimal strings on every build.
      kind: 'json',
      method: 'GET',
      pattern: /^\/blockchain\/stakes\/onhold$/,
      op: 'onHold',
      prepare: ({ url }) => {
        parseIterationsQuery(url.searchParams);
        return () => ok({ available: wallet.current.available.toString(), hold: wallet.current.hold.toString() });
      },
    },
    {
      kind: 'json',
      method: 'POST',
      pattern: /^\/blockchain\/stakes\/withdraw$/,
      op: 'withdraw',
      prepare: async ({ req }) => {
        const iterations = parseWithdrawBody(await readBody(req));
        return () => ok({ tx: wallet.withdraw(iterations) });
      },
    },
  ];
}

export function blockchainRoutes(deps: BlockchainDeps): JsonRoute[] {
  // Money routes before sessionRoutes: "budget" is not a session id.
  return [...systemRoutes(deps), ...marketRoutes(deps), ...openRoutes(deps), ...moneyRoutes(deps), ...sessionRoutes(deps)];
}

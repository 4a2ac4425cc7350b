import type { Bid, Model, OnChainSession, RatedBid, StakesOnHold, WalletBalance } from './node.types';
import {
  asAddress,
  asArray,
  asBigInt,
  asBoolean,
  asDecimalString,
  asFloat,
  asHex32,
  asObject,
  asString,
  asUnixSeconds,
  isWireObject,
  parseWireJson,
  WireFormatError,
  type WireObject,
  ZERO_ADDRESS,
  ZERO_HASH,
} from './wire-values';

/*
 * The node's JSON → domain values. Envelopes carry json tags (`models`, `bid`, `session`…);
 * the structs inside have none, so their keys are Go field names (`Id`, `EndsAt`, `BidID`).
 * Bid amounts are `lib.BigInt` decimal strings; session and model amounts are `*big.Int`
 * JSON numbers (see docs/proxy-router.wire.yaml).
 */

export function toModel(raw: unknown): Model {
  const m = asObject(raw, 'model');
  return {
    id: asHex32(m.Id, 'model Id'),
    name: asString(m.Name, 'model Name'),
    owner: asAddress(m.Owner, 'model Owner'),
    createdAt: asUnixSeconds(m.CreatedAt, 'model CreatedAt'),
    // Go encodes a nil slice as null.
    tags: m.Tags === null ? [] : asArray(m.Tags, 'model Tags').map((tag) => asString(tag, 'model tag')),
    // Older nodes predate ModelType; the enum's own default stands in.
    modelType: m.ModelType === undefined || m.ModelType === null ? 'UNKNOWN' : asString(m.ModelType, 'model ModelType'),
    isDeleted: asBoolean(m.IsDeleted, 'model IsDeleted'),
    fee: asBigInt(m.Fee, 'model Fee'),
    stake: asBigInt(m.Stake, 'model Stake'),
  };
}

export function toBid(raw: unknown): Bid {
  const b = asObject(raw, 'bid');
  const bid: Bid = {
    id: asHex32(b.Id, 'bid Id'),
    provider: asAddress(b.Provider, 'bid Provider'),
    modelId: asHex32(b.ModelAgentId, 'bid ModelAgentId'),
    pricePerSecond: asDecimalString(b.PricePerSecond, 'bid PricePerSecond'),
    createdAt: asUnixSeconds(b.CreatedAt, 'bid CreatedAt'),
    deletedAt: asUnixSeconds(b.DeletedAt, 'bid DeletedAt'),
  };
  if (b.Nonce !== undefined && b.Nonce !== null) bid.nonce = asDecimalString(b.Nonce, 'bid Nonce');
  return bid;
}

export function toRatedBid(raw: unknown): RatedBid {
  const scored = asObject(raw, 'rated bid');
  return { bid: toBid(scored.Bid), score: asFloat(scored.Score, 'rated bid Score') };
}

export function toOnChainSession(raw: unknown): OnChainSession {
  const s = asObject(raw, 'session');
  return {
    id: asHex32(s.Id, 'session Id'),
    user: asAddress(s.User, 'session User'),
    provider: asAddress(s.Provider, 'session Provider'),
    modelId: asHex32(s.ModelAgentId, 'session ModelAgentId'),
    bidId: asHex32(s.BidID, 'session BidID'),
    stake: asBigInt(s.Stake, 'session Stake'),
    pricePerSecond: asDecimalString(s.PricePerSecond, 'session PricePerSecond'),
    openedAt: asUnixSeconds(s.OpenedAt, 'session OpenedAt'),
    endsAt: asBigInt(s.EndsAt, 'session EndsAt'),
    closedAt: asBigInt(s.ClosedAt, 'session ClosedAt'),
  };
}

/** The contract's zero struct, which the node returns for a bid id it does not know. */
function isZeroBid(b: WireObject): boolean {
  const provider = typeof b.Provider === 'string' ? b.Provider.toLowerCase() : undefined;
  return provider === ZERO_ADDRESS || b.CreatedAt === '0';
}

/** Older nodes answer an unknown session id with a zeroed struct instead of an error. */
function isZeroSession(s: WireObject): boolean {
  return typeof s.BidID === 'string' && s.BidID.toLowerCase() === ZERO_HASH;
}

const envelope = (text: string): WireObject => asObject(parseWireJson(text), 'answer');

/** `{"models": [...]}` */
export function modelsFromBody(text: string): Model[] {
  return asArray(envelope(text).models, 'models').map(toModel);
}

/** `{"bids": [...]}` */
export function bidsFromBody(text: string): Bid[] {
  return asArray(envelope(text).bids, 'bids').map(toBid);
}

/** `{"bids": [{"ID", "Bid", "Score"}]}` */
export function ratedBidsFromBody(text: string): RatedBid[] {
  return asArray(envelope(text).bids, 'bids').map(toRatedBid);
}

/** `{"bid": {...}}`; null for the zero-valued bid (no such bid). */
export function bidFromBody(text: string): Bid | null {
  const raw = asObject(envelope(text).bid, 'bid');
  return isZeroBid(raw) ? null : toBid(raw);
}

/** `{"session": {...}}`; null for a zeroed struct (no such session). */
export function sessionFromBody(text: string): OnChainSession | null {
  const raw = asObject(envelope(text).session, 'session');
  return isZeroSession(raw) ? null : toOnChainSession(raw);
}

/** `{"sessions": [...]}` */
export function sessionsFromBody(text: string): OnChainSession[] {
  return asArray(envelope(text).sessions, 'sessions').map(toOnChainSession);
}

/** `{"sessionID": "0x…"}` — the answer of an open. */
export function sessionIdFromBody(text: string): string {
  return asHex32(envelope(text).sessionID, 'sessionID');
}

/** `{"address": "0x…"}` — the node's wallet. */
export function walletAddressFromBody(text: string): string {
  return asAddress(envelope(text).address, 'address');
}

/*
 * v7.11 money answers. Balance, budget and supply are `lib.BigInt` strings or `*big.Int`
 * numbers depending on the node's build; asBigInt reads both exactly (docs/proxy-router.wire.yaml).
 */

/** `{"eth", "mor"}` — the node wallet's balances (wei). */
export function balanceFromBody(text: string): WalletBalance {
  const body = envelope(text);
  return { eth: asBigInt(body.eth, 'eth'), mor: asBigInt(body.mor, 'mor') };
}

/** `{"budget"}` — today's session budget of the chain (wei). */
export function sessionsBudgetFromBody(text: string): bigint {
  return asBigInt(envelope(text).budget, 'budget');
}

/** `{"supply"}` — the MOR token supply (wei). */
export function tokenSupplyFromBody(text: string): bigint {
  return asBigInt(envelope(text).supply, 'supply');
}

/** `{"available", "hold"}` — the wallet's on-hold stake (wei). */
export function stakesOnHoldFromBody(text: string): StakesOnHold {
  const body = envelope(text);
  return { available: asBigInt(body.available, 'available'), hold: asBigInt(body.hold, 'hold') };
}

/** `{"tx": "0x…"}` — a write's transaction hash. */
export function txFromBody(text: string): string {
  return asHex32(envelope(text).tx, 'tx');
}

/**
 * The node's error text from `{"error": "..."}`; a body of another shape (gin's plain
 * "404 page not found", a proxy's HTML page) is returned as text, cut short.
 */
export function errorMessageFromBody(text: string): string {
  let parsed: unknown;
  try {
    parsed = parseWireJson(text);
  } catch (error) {
    if (!(error instanceof WireFormatError)) throw error;
    return text.slice(0, 200);
  }
  const message = isWireObject(parsed) ? parsed.error : undefined;
  return typeof message === 'string' ? message.slice(0, 500) : text.slice(0, 200);
}

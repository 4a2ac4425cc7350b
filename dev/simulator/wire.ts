import { stringify } from 'lossless-json';
import type { BidRecord, ModelRecord } from './marketplace';
import type { SessionRecord } from './session-ledger';

/**
 * JSON as the node writes it. `bigint` is emitted as a bare JSON number of any size (Go
 * `*big.Int`); `lib.BigInt` fields are converted to decimal strings before they get here.
 */
export type WireValue = string | number | boolean | bigint | null | WireValue[] | WireObject;
export interface WireObject {
  [key: string]: WireValue;
}

export const ZERO_ADDRESS = `0x${'0'.repeat(40)}`;
export const ZERO_HASH = `0x${'0'.repeat(64)}`;

/** Serialises losslessly: big integers stay exact numbers beyond 2^53. */
export function toWireJson(value: WireValue): string {
  const text = stringify(value);
  if (text === undefined) throw new TypeError('value has no JSON representation');
  return text;
}

export const errorBody = (message: string): WireObject => ({ error: message });

// Inner structs have no json tags in Go, so their keys are the Go field names.
export function modelToWire(model: ModelRecord): WireObject {
  return {
    Id: model.id,
    IpfsCID: model.ipfsCid,
    Fee: model.fee,
    Stake: model.stake,
    Owner: model.owner,
    Name: model.name,
    Tags: [...model.tags],
    CreatedAt: model.createdAt,
    IsDeleted: model.isDeleted,
    ModelType: model.modelType,
  };
}

/** Bid amounts are `lib.BigInt`: decimal strings, unlike the session's `*big.Int` numbers. */
export function bidToWire(bid: BidRecord): WireObject {
  return {
    Id: bid.id,
    Provider: bid.provider,
    ModelAgentId: bid.modelId,
    PricePerSecond: bid.pricePerSecond.toString(),
    Nonce: bid.nonce.toString(),
    CreatedAt: bid.createdAt.toString(),
    DeletedAt: bid.deletedAt.toString(),
  };
}

/** What the node answers for a bid id it does not know: the contract's zero struct under that id. */
export function zeroBidToWire(id: string): WireObject {
  return {
    Id: id,
    Provider: ZERO_ADDRESS,
    ModelAgentId: ZERO_HASH,
    PricePerSecond: '0',
    Nonce: '0',
    CreatedAt: '0',
    DeletedAt: '0',
  };
}

export function scoredBidToWire(bid: BidRecord, score: number): WireObject {
  return { ID: bid.id, Bid: bidToWire(bid), Score: score };
}

export function sessionToWire(session: SessionRecord): WireObject {
  return {
    Id: session.id,
    User: session.user,
    Provider: session.provider,
    ModelAgentId: session.modelId,
    BidID: session.bidId,
    Stake: session.stake,
    PricePerSecond: session.pricePerSecond,
    // hex.EncodeToString of the receipt bytes: "" until the provider's receipt exists.
    CloseoutReceipt: session.closeoutReceipt,
    CloseoutType: session.closeoutType,
    ProviderWithdrawnAmount: session.providerWithdrawnAmount,
    OpenedAt: session.openedAt,
    EndsAt: session.endsAt,
    ClosedAt: session.closedAt,
  };
}

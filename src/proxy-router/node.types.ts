/**
 * The marketplace in domain terms: what the rest of the gateway sees of the proxy-router.
 * Ids are `0x` + 64 lower-case hex digits, addresses `0x` + 40 lower-case hex digits.
 * Wei amounts and on-chain times that can pass 2^53 are `bigint` or decimal strings —
 * never JS numbers.
 */

/** A model registered on the marketplace. */
export interface Model {
  id: string;
  name: string;
  owner: string;
  /** Unix seconds. */
  createdAt: number;
  tags: string[];
  /** LLM, STT, TTS, EMBEDDING or UNKNOWN (kept as the node says it). */
  modelType: string;
  isDeleted: boolean;
  fee: bigint;
  stake: bigint;
}

/** A provider's offer for a model. */
export interface Bid {
  id: string;
  provider: string;
  modelId: string;
  /** Wei per second, decimal string. */
  pricePerSecond: string;
  nonce?: string;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds; 0 while the bid is live. */
  deletedAt: number;
}

/** A bid as the node rates it for a model (best first). */
export interface RatedBid {
  bid: Bid;
  score: number;
}

/** A session as the chain records it. */
export interface OnChainSession {
  id: string;
  user: string;
  provider: string;
  modelId: string;
  bidId: string;
  stake: bigint;
  /** Wei per second, decimal string. */
  pricePerSecond: string;
  /** Unix seconds. */
  openedAt: number;
  /** Unix seconds. */
  endsAt: bigint;
  /** Unix seconds; 0n while the session is open. */
  closedAt: bigint;
}

/** The node wallet's balances, in wei. */
export interface WalletBalance {
  eth: bigint;
  mor: bigint;
}

/** Stake the wallet's closes put on hold (v7.11): `available` can be withdrawn now, `hold` is still locked. */
export interface StakesOnHold {
  available: bigint;
  hold: bigint;
}

/**
 * How far back a wallet read goes. The listing is read newest first (the node's `order=desc`,
 * opening order) and grows with every session ever opened, so readers say what they need.
 */
export interface WalletReadOptions {
  /** Unix seconds: stop after the first page whose sessions all opened before this. */
  openedSince?: number;
  /** At most this many sessions (the newest ones): `1` reads the newest session only. */
  limit?: number;
}

export interface OpenByModelOptions {
  /** Seconds. */
  sessionDuration: number;
  directPayment: boolean;
  /** The gateway's own failover, as the caller asked; the node is always sent false. */
  failover: boolean;
}

export interface OpenByBidOptions {
  /** Seconds. */
  sessionDuration: number;
}

/**
 * What one probe of a session found. `busy`: the model backend is rate limited or
 * unavailable (the node passed its 429/503 through); the session itself is fine.
 */
export type PingResult =
  { kind: 'alive' } | { kind: 'dead'; reason: string } | { kind: 'expired' } | { kind: 'timeout' } | { kind: 'busy' };

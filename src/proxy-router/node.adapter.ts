import type {
  Bid,
  Model,
  OnChainSession,
  OpenByBidOptions,
  OpenByModelOptions,
  PingResult,
  RatedBid,
  StakesOnHold,
  WalletBalance,
  WalletReadOptions,
} from './node.types';

/**
 * The gateway's only door to the Morpheus marketplace (the DI token other modules inject).
 * Implementations speak domain types and typed errors (./errors) only.
 *
 * Failures common to every method: ProviderNotConfiguredError, ProviderUnreachableError,
 * ProviderCircuitOpenError (503), ProviderTimeoutError (504), ProviderUpstreamError (502).
 */
export abstract class NodeAdapter {
  /** Every registered model, deleted ones included (all pages). */
  abstract listModels(): Promise<Model[]>;

  /** Every bid of a model, deleted ones included (`deletedAt` > 0), all pages. */
  abstract listBids(modelId: string): Promise<Bid[]>;

  /** The model's live bids as the node rates them, best first. */
  abstract ratedBids(modelId: string): Promise<RatedBid[]>;

  /** The bid, or null when the node does not know it (it answers a zero-valued bid). */
  abstract getBid(bidId: string): Promise<Bid | null>;

  /**
   * Opens a session with the model's best provider; sent exactly once. Returns the
   * session id. NonceRejectedError: refused, safe to retry. OutcomeUnknownError: may
   * have opened — reconcile, never resend. NoBidsAvailableError: no provider took it.
   */
  abstract openSessionByModel(modelId: string, options: OpenByModelOptions): Promise<string>;

  /** Opens a session on one bid; sent exactly once. Errors as for {@link openSessionByModel}. */
  abstract openSessionByBid(bidId: string, options: OpenByBidOptions): Promise<string>;

  /** Closes on chain; sent exactly once. A session already closed is a success. */
  abstract closeSession(sessionId: string): Promise<{ alreadyClosed: boolean }>;

  /** The on-chain session, or null when the node does not know it. */
  abstract getSession(sessionId: string): Promise<OnChainSession | null>;

  /** The address of the node's wallet (which signs every open and close). */
  abstract walletAddress(): Promise<string>;

  /**
   * The node's wallet's sessions, newest first, as far back as `options` say (without
   * options: the whole history, every page). The node lists them in opening order (each
   * open appends to the wallet's list on chain; `order=desc` reverses it), so a session
   * listed above another was opened after it.
   */
  abstract walletSessions(options?: WalletReadOptions): Promise<OnChainSession[]>;

  /** The node wallet's ETH and MOR balances (wei). */
  abstract balance(): Promise<WalletBalance>;

  /** Today's session budget of the chain (wei): with the supply, what an open's stake is scaled by. */
  abstract sessionsBudget(): Promise<bigint>;

  /** The MOR token supply (wei). */
  abstract tokenSupply(): Promise<bigint>;

  /** The wallet's on-hold stake, scanning `iterations` (1..255) of its on-hold entries. */
  abstract stakesOnHold(iterations: number): Promise<StakesOnHold>;

  /**
   * Withdraws the available on-hold stake on chain (v7.11); sent exactly once. Returns the
   * transaction hash. NonceRejectedError: refused, safe to retry. OutcomeUnknownError
   * (`withdraw_outcome_unknown`): may have landed — read {@link stakesOnHold}, never resend blindly.
   */
  abstract withdrawStakes(iterations: number): Promise<string>;

  /**
   * A minimal streamed chat completion on the session: resolves at the first chunk or
   * error. A node that cannot be reached throws (unreachable/circuit open), never "dead".
   */
  abstract ping(sessionId: string, timeoutMs: number): Promise<PingResult>;

  /** Resolves when the node answers its healthcheck (readiness; bypasses the circuit breaker). */
  abstract health(): Promise<void>;

  /** The circuit breaker's state, for metrics. */
  circuitState(): 'closed' | 'open' | 'half_open' {
    return 'closed';
  }
}

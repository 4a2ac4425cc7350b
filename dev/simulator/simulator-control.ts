import { type ChatBehaviour, ChatRules } from './chat-behaviour';
import { type FailNextOptions, FaultPlan, type HangNextOptions, type OperationCounts, type SimOperation } from './fault-plan';
import { HeldResponses } from './http-io';
import type { MarketplaceStore } from './marketplace';
import { OpenLog, type ReceivedOpen } from './open-log';
import type { SessionLedger, SessionRecord } from './session-ledger';
import { type BigIntEncoding, type ReceivedWithdraw, WalletState, type WalletNumbers } from './wallet-state';
import { WriteGate } from './write-gate';

export interface CommitSessionOptions {
  /** Open with this bid … */
  bidId?: string;
  /** … or with the best live bid of this model. */
  modelId?: string;
  sessionDuration: number | bigint;
}

/**
 * Test-side control of a running simulator. Everything here is also reachable over HTTP
 * under `/__sim/` (see control-routes.ts) for a simulator in another process.
 */
export class SimulatorControl {
  readonly plan = new FaultPlan();
  readonly gate = new WriteGate();
  readonly chatRules = new ChatRules();
  readonly held = new HeldResponses();
  readonly opens = new OpenLog();

  constructor(
    private readonly store: MarketplaceStore,
    private readonly ledger: SessionLedger,
    readonly wallet: WalletState = new WalletState(),
  ) {}

  /** Delay before the operation answers (for chat: before the first chunk, inside the session's turn). */
  setLatency(op: SimOperation, ms: number): void {
    this.plan.setLatency(op, ms);
  }

  /** The next `times` calls of `op` answer `status` with `{"error": error}` (or `body`). */
  failNext(op: SimOperation, options?: FailNextOptions): void {
    this.plan.failNext(op, options);
  }

  /** The next `times` calls of `op` are never answered (with `commit`, writes still land). */
  hangNext(op: SimOperation, options?: HangNextOptions): void {
    this.plan.hangNext(op, options);
  }

  /** More than `maxConcurrentWrites` overlapping opens/closes → the extras fail; null turns it off. */
  setNonceConflict(maxConcurrentWrites: number | null): void {
    this.gate.setLimit(maxConcurrentWrites);
  }

  /** `sessionId` or `*` (every session without its own rule); null restores normal answers. */
  setChatBehaviour(sessionId: string, behaviour: ChatBehaviour | null): void {
    this.chatRules.set(sessionId, behaviour);
  }

  /** Moves the session's EndsAt to now (or to `endsAt`, which may exceed 2^53). */
  expireSession(sessionId: string, endsAt?: bigint): SessionRecord {
    return this.ledger.setEndsAt(sessionId.toLowerCase(), endsAt ?? this.ledger.now());
  }

  setSessionEndsAt(sessionId: string, endsAt: bigint): SessionRecord {
    return this.ledger.setEndsAt(sessionId.toLowerCase(), endsAt);
  }

  /** The node (its expiry job, or another client of the wallet) closed the session. */
  closeSessionByNode(sessionId: string): SessionRecord {
    return this.ledger.closeByNode(sessionId.toLowerCase());
  }

  /** A session opened on chain by the wallet without any HTTP call (an "unknown" session). */
  commitSession(options: CommitSessionOptions): SessionRecord {
    const duration = BigInt(options.sessionDuration);
    if (options.bidId) return this.ledger.openByBid(options.bidId.toLowerCase(), duration);
    if (options.modelId) return this.ledger.openByModel(options.modelId.toLowerCase(), duration);
    throw new RangeError('commitSession needs a bidId or a modelId');
  }

  getSession(sessionId: string): SessionRecord | undefined {
    return this.ledger.get(sessionId.toLowerCase());
  }

  sessions(): SessionRecord[] {
    return this.ledger.all();
  }

  /** Every open request received since the last reset, as parsed (the flags the gateway sent). */
  receivedOpens(): ReceivedOpen[] {
    return this.opens.all();
  }

  deleteBid(bidId: string): void {
    this.store.deleteBid(bidId, this.ledger.now());
  }

  deleteModel(modelId: string): void {
    this.store.deleteModel(modelId, this.ledger.now());
  }

  /**
   * Sets any of the wallet's money numbers (wei, may exceed 2^53): `eth`, `mor` (balance),
   * `budget`, `supply`, `available` and `hold` (on-hold stake). Calls are counted per
   * operation (`balance`, `budget`, `supply`, `onHold`, `withdraw`) in {@link counts}.
   */
  setWallet(values: Partial<WalletNumbers>): void {
    this.wallet.set(values);
  }

  walletNumbers(): WalletNumbers {
    return this.wallet.current;
  }

  /** Balance, budget and supply as decimal strings (`lib.BigInt`) or JSON numbers (`*big.Int`): nodes differ by build. */
  setBigIntEncoding(encoding: BigIntEncoding): void {
    this.wallet.setEncoding(encoding);
  }

  /** Every withdraw that landed, in order (a failed or hung one without `commit` did not). */
  receivedWithdraws(): ReceivedWithdraw[] {
    return this.wallet.receivedWithdraws();
  }

  /** A bid's price per second (wei); later opens on it stake by this price. */
  setBidPrice(bidId: string, pricePerSecond: bigint): void {
    this.store.setBidPrice(bidId, pricePerSecond);
  }

  /** Opens on the provider's bids fail with the node's "no capacity" error until turned off. */
  setCapacityRefusal(provider: string, refuses = true): void {
    this.ledger.setCapacityRefusal(provider, refuses);
  }

  counts(): OperationCounts {
    return this.plan.counts();
  }

  resetCounts(): void {
    this.plan.resetCounts();
  }

  /** Drops every request held by a hang (the clients see their connection reset). */
  releaseHeld(): void {
    this.held.releaseAll();
  }

  /** Back to the seeded marketplace, no sessions, no faults, zero counters. */
  reset(): void {
    this.plan.reset();
    this.gate.setLimit(null);
    this.chatRules.clear();
    this.ledger.clear();
    this.opens.clear();
    this.wallet.reset();
    this.store.reset();
    this.held.releaseAll();
  }
}

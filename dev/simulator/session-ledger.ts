import { randomBytes } from 'node:crypto';
import { type BidRecord, type Marketplace, type Page, isLiveBid, liveBidsOf, pageOf } from './marketplace';
import { NodeErrors, UnknownEntityError, serverError } from './sim-error';

/** structs.Session, with every `*big.Int` field as a bigint. */
export interface SessionRecord {
  id: string;
  user: string;
  provider: string;
  modelId: string;
  bidId: string;
  stake: bigint;
  pricePerSecond: bigint;
  closeoutReceipt: string;
  closeoutType: bigint;
  providerWithdrawnAmount: bigint;
  openedAt: bigint;
  endsAt: bigint;
  closedAt: bigint;
}

/** Unix seconds. */
export type Clock = () => bigint;
export const systemClock: Clock = () => BigInt(Math.floor(Date.now() / 1000));

/**
 * The node stakes `price × duration × supply / today's budget`. The default supply/budget
 * (wallet-state.ts) is this ratio, chosen so a one-hour session stakes ~10^20 wei (well past
 * 2^53, as on the real chain); setting supply or budget changes the stakes of later opens.
 */
export const STAKE_PER_COST = 400_000n;

/** The chain's numbers an open's stake is scaled by. */
export interface StakeEconomics {
  supply: bigint;
  budget: bigint;
}
const DEFAULT_ECONOMICS = (): StakeEconomics => ({ supply: STAKE_PER_COST, budget: 1n });

export const randomHex = (bytes: number): string => `0x${randomBytes(bytes).toString('hex')}`;

/** The on-chain session state of the node's one wallet. */
export class SessionLedger {
  // Insertion order is opening order, which the user-sessions listing pages over.
  private readonly sessions = new Map<string, SessionRecord>();
  /** Providers (lower-case addresses) that refuse every new session for lack of capacity. */
  private readonly refusing = new Set<string>();

  constructor(
    private readonly market: () => Marketplace,
    private readonly clock: Clock = systemClock,
    private readonly economics: () => StakeEconomics = DEFAULT_ECONOMICS,
  ) {}

  now(): bigint {
    return this.clock();
  }

  /** Opens with the best live bid of the model, as the node's by-model flow does. */
  openByModel(modelId: string, duration: bigint): SessionRecord {
    const [best] = liveBidsOf(this.market(), modelId);
    if (!best) throw serverError(NodeErrors.noBids);
    return this.open(best, duration);
  }

  openByBid(bidId: string, duration: bigint): SessionRecord {
    const bid = this.market().bids.find((candidate) => candidate.id === bidId);
    // An unknown id reads as the zero bid, whose provider (0x0…0) has no endpoint to dial.
    if (!bid) throw serverError(NodeErrors.unknownBidProvider);
    if (!isLiveBid(bid)) throw serverError(NodeErrors.bidNotFound);
    return this.open(bid, duration);
  }

  /** Returns the close transaction's hash. */
  close(id: string): string {
    const session = this.sessions.get(id);
    if (!session) throw serverError(NodeErrors.closeUnknown);
    if (session.closedAt > 0n) throw serverError(NodeErrors.alreadyClosed);
    session.closedAt = this.clock();
    session.closeoutReceipt = randomHex(32).slice(2);
    return randomHex(32);
  }

  get(id: string): SessionRecord | undefined {
    return this.sessions.get(id);
  }

  all(): SessionRecord[] {
    return [...this.sessions.values()];
  }

  forUser(user: string, page: Page): SessionRecord[] {
    if (user.toLowerCase() !== this.market().wallet) return [];
    return pageOf(this.all(), page);
  }

  /** The node's own expiry job (or another client of the wallet) closed it. */
  closeByNode(id: string): SessionRecord {
    const session = this.require(id);
    if (session.closedAt === 0n) session.closedAt = this.clock();
    return session;
  }

  setEndsAt(id: string, endsAt: bigint): SessionRecord {
    const session = this.require(id);
    session.endsAt = endsAt;
    return session;
  }

  /** The provider refuses new sessions (true) or takes them again (false). */
  setCapacityRefusal(provider: string, refuses: boolean): void {
    if (refuses) this.refusing.add(provider.toLowerCase());
    else this.refusing.delete(provider.toLowerCase());
  }

  refusingProviders(): string[] {
    return [...this.refusing];
  }

  clear(): void {
    this.sessions.clear();
    this.refusing.clear();
  }

  private require(id: string): SessionRecord {
    const session = this.sessions.get(id);
    if (!session) throw new UnknownEntityError('session', id);
    return session;
  }

  private open(bid: BidRecord, duration: bigint): SessionRecord {
    // The contract refuses a zero-length session; its minimum is not enforced here so that
    // tests can open short sessions.
    if (duration <= 0n) throw serverError(NodeErrors.sessionTooShort);
    // The node initiates with the provider before anything goes on chain: nothing is staked.
    if (this.refusing.has(bid.provider)) throw serverError(NodeErrors.noCapacity);
    const { supply, budget } = this.economics();
    if (budget <= 0n) throw serverError(NodeErrors.zeroBudget);
    const openedAt = this.clock();
    const session: SessionRecord = {
      id: randomHex(32),
      user: this.market().wallet,
      provider: bid.provider,
      modelId: bid.modelId,
      bidId: bid.id,
      stake: (bid.pricePerSecond * duration * supply) / budget,
      pricePerSecond: bid.pricePerSecond,
      closeoutReceipt: '',
      closeoutType: 0n,
      providerWithdrawnAmount: 0n,
      openedAt,
      endsAt: openedAt + duration,
      closedAt: 0n,
    };
    this.sessions.set(session.id, session);
    return session;
  }
}

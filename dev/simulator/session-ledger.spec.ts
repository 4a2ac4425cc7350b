import { buildMarketplace, liveBidsOf } from './marketplace';
import { describeMarketplace } from './marketplace-fixture';
import { STAKE_PER_COST, SessionLedger } from './session-ledger';
import { NodeErrors, SimError } from './sim-error';

const TWO_POW_53 = 2n ** 53n;

function aLedger(start = 1_800_000_000n) {
  const market = buildMarketplace('ledger-spec');
  let now = start;
  const ledger = new SessionLedger(
    () => market,
    () => now,
  );
  return { market, ledger, fixture: describeMarketplace(market), advance: (s: bigint) => (now += s) };
}

function errorOf(action: () => unknown): SimError {
  try {
    action();
  } catch (error) {
    if (error instanceof SimError) return error;
    throw error;
  }
  throw new Error('expected a SimError');
}

describe('SessionLedger', () => {
  it('opens by model with the cheapest live bid, skipping the cheaper deleted one', () => {
    const { ledger, market, fixture } = aLedger();
    const modelId = fixture.liveModelIds[0];
    const deleted = market.bids.find((bid) => bid.id === fixture.deletedBidId);
    expect(deleted?.modelId).toBe(modelId);

    const session = ledger.openByModel(modelId, 3600n);
    expect(session.bidId).toBe(liveBidsOf(market, modelId)[0].id);
    expect(session.bidId).not.toBe(fixture.deletedBidId);
  });

  it('records realistic chain values: EndsAt = OpenedAt + duration, a stake past 2^53', () => {
    const { ledger, fixture, market } = aLedger(1_800_000_000n);
    const bid = market.bids.find((candidate) => candidate.id === fixture.liveBidIds[1])!;
    const session = ledger.openByBid(bid.id, 600n);

    expect(session).toMatchObject({ openedAt: 1_800_000_000n, endsAt: 1_800_000_600n, closedAt: 0n, user: market.wallet });
    expect(session.stake).toBe(bid.pricePerSecond * 600n * STAKE_PER_COST);
    expect(session.stake > TWO_POW_53).toBe(true);
    expect(session.id).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it('closes once; the second close is SessionAlreadyClosed', () => {
    const { ledger, fixture, advance } = aLedger();
    const session = ledger.openByModel(fixture.liveModelIds[1], 60n);
    advance(5n);

    expect(ledger.close(session.id)).toMatch(/^0x[0-9a-f]{64}$/);
    expect(ledger.get(session.id)?.closedAt).toBe(session.openedAt + 5n);
    expect(errorOf(() => ledger.close(session.id))).toMatchObject({ status: 500, message: NodeErrors.alreadyClosed });
    expect(NodeErrors.alreadyClosed).toContain('SessionAlreadyClosed');
  });

  it('refuses what the node refuses', () => {
    const { ledger, fixture } = aLedger();
    expect(errorOf(() => ledger.openByModel(fixture.modelWithoutBidsId, 60n)).message).toBe('no bids available');
    expect(errorOf(() => ledger.openByModel(`0x${'ab'.repeat(32)}`, 60n)).message).toBe('no bids available');
    expect(errorOf(() => ledger.openByBid(fixture.deletedBidId, 60n)).message).toBe(NodeErrors.bidNotFound);
    expect(errorOf(() => ledger.openByBid(`0x${'cd'.repeat(32)}`, 60n)).status).toBe(500);
    expect(errorOf(() => ledger.openByBid(fixture.liveBidIds[0], 0n)).message).toContain('SessionTooShort');
    expect(errorOf(() => ledger.close(`0x${'ef'.repeat(32)}`)).message).toContain('session not found');
  });

  it("lists only the wallet's sessions, paged in opening order", () => {
    const { ledger, fixture, market } = aLedger();
    const ids = [0, 1, 2].map((i) => ledger.openByModel(fixture.liveModelIds[i], 60n).id);

    expect(ledger.forUser(market.wallet.toUpperCase().replace('0X', '0x'), { offset: 0, limit: 2, order: 'asc' }).map((s) => s.id)).toEqual(
      ids.slice(0, 2),
    );
    expect(ledger.forUser(market.wallet, { offset: 0, limit: 10, order: 'desc' }).map((s) => s.id)).toEqual([...ids].reverse());
    expect(ledger.forUser(fixture.providers[0], { offset: 0, limit: 10, order: 'asc' })).toEqual([]);
  });

  it('lets the node close a session and tests move its EndsAt (beyond 2^53 too)', () => {
    const { ledger, fixture } = aLedger();
    const session = ledger.openByModel(fixture.liveModelIds[0], 3600n);
    ledger.setEndsAt(session.id, TWO_POW_53 + 11n);
    expect(ledger.get(session.id)?.endsAt).toBe(9007199254741003n);

    ledger.closeByNode(session.id);
    expect(ledger.get(session.id)?.closedAt).toBeGreaterThan(0n);
    expect(() => ledger.closeByNode(`0x${'00'.repeat(32)}`)).toThrow('unknown session');
  });
  it('stakes price × duration × supply / budget, by the economics of the moment of the open', () => {
    const market = buildMarketplace('ledger-spec');
    let economics = { supply: 3n * TWO_POW_53, budget: 7n };
    const ledger = new SessionLedger(
      () => market,
      () => 1_800_000_000n,
      () => economics,
    );
    const bid = liveBidsOf(market, describeMarketplace(market).liveModelIds[0])[0];
    expect(ledger.openByBid(bid.id, 600n).stake).toBe((bid.pricePerSecond * 600n * 3n * TWO_POW_53) / 7n);
    economics = { supply: 1n, budget: 0n };
    expect(errorOf(() => ledger.openByBid(bid.id, 600n)).message).toBe(NodeErrors.zeroBudget);
  });

  it("refuses opens on a refusing provider's bids with the node's capacity error, until lifted", () => {
    const { ledger, market, fixture } = aLedger();
    const [best, next] = liveBidsOf(market, fixture.liveModelIds[0]);
    ledger.setCapacityRefusal(best.provider.toUpperCase().replace('0X', '0x'), true);
    expect(errorOf(() => ledger.openByBid(best.id, 60n))).toMatchObject({ status: 500, message: NodeErrors.noCapacity });
    expect(errorOf(() => ledger.openByModel(fixture.liveModelIds[0], 60n)).message).toBe(NodeErrors.noCapacity);
    if (next && next.provider !== best.provider) expect(ledger.openByBid(next.id, 60n).provider).toBe(next.provider);
    ledger.setCapacityRefusal(best.provider, false);
    expect(ledger.openByBid(best.id, 60n).bidId).toBe(best.id);
    expect(ledger.all()).toHaveLength(next && next.provider !== best.provider ? 2 : 1);
  });
});

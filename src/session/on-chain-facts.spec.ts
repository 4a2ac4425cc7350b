import { factsOf, secondsToDate } from './on-chain-facts';

describe('on-chain facts', () => {
  it('turns EndsAt seconds into a date', () => {
    expect(secondsToDate(1_795_000_000n)?.toISOString()).toBe('2026-11-18T11:06:40.000Z');
  });

  it('reports an EndsAt no Date can hold as unknown instead of a wrong date', () => {
    expect(secondsToDate(2n ** 64n)).toBeNull();
    expect(secondsToDate(0n)).toBeNull();
  });

  it('keeps what the node said of the session, and nulls when it said nothing', () => {
    const facts = factsOf('0xs', {
      id: '0xs',
      user: '0xu',
      provider: '0xp',
      modelId: '0xm',
      bidId: '0xb',
      stake: 10n ** 20n,
      pricePerSecond: '1',
      openedAt: 1_795_000_000,
      endsAt: 1_795_003_600n,
      closedAt: 0n,
    });
    expect(facts).toEqual({
      chainSessionId: '0xs',
      bidId: '0xb',
      provider: '0xp',
      modelId: '0xm',
      openedAt: new Date(1_795_000_000_000),
      expiresAt: new Date(1_795_003_600_000),
    });
    expect(factsOf('0xs', null)).toEqual({
      chainSessionId: '0xs',
      bidId: null,
      provider: null,
      modelId: null,
      openedAt: null,
      expiresAt: null,
    });
  });
});

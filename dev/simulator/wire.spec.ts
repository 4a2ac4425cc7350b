import { parse } from 'lossless-json';
import { buildMarketplace } from './marketplace';
import { bidToWire, modelToWire, toWireJson, zeroBidToWire } from './wire';

describe('wire serialisation', () => {
  it('writes *big.Int values as exact JSON numbers beyond 2^53', () => {
    const text = toWireJson({ Stake: 123456789012345678901234n, EndsAt: 2n ** 53n + 1n, Score: 0.5 });
    expect(text).toBe('{"Stake":123456789012345678901234,"EndsAt":9007199254740993,"Score":0.5}');
  });

  it('uses Go field names and lib.BigInt strings for bids', () => {
    const [bid] = buildMarketplace('wire-spec').bids;
    const wire = bidToWire(bid);
    expect(Object.keys(wire)).toEqual(['Id', 'Provider', 'ModelAgentId', 'PricePerSecond', 'Nonce', 'CreatedAt', 'DeletedAt']);
    expect(typeof wire.PricePerSecond).toBe('string');
  });

  it('keeps model amounts as numbers', () => {
    const [model] = buildMarketplace('wire-spec').models;
    const parsed = parse(toWireJson(modelToWire(model))) as Record<string, unknown>;
    expect(String(parsed.Stake)).toBe(model.stake.toString());
    expect(parsed.IsDeleted).toBe(false);
  });

  it('answers an unknown bid with the zero struct under the asked id', () => {
    const id = `0x${'12'.repeat(32)}`;
    expect(zeroBidToWire(id)).toEqual({
      Id: id,
      Provider: '0x0000000000000000000000000000000000000000',
      ModelAgentId: `0x${'0'.repeat(64)}`,
      PricePerSecond: '0',
      Nonce: '0',
      CreatedAt: '0',
      DeletedAt: '0',
    });
  });
});

import {
  balanceFromBody,
  bidFromBody,
  bidsFromBody,
  errorMessageFromBody,
  modelsFromBody,
  ratedBidsFromBody,
  sessionFromBody,
  sessionIdFromBody,
  sessionsBudgetFromBody,
  sessionsFromBody,
  stakesOnHoldFromBody,
  tokenSupplyFromBody,
  txFromBody,
  walletAddressFromBody,
} from './proxy-router.wire';
import { WireFormatError } from './wire-values';

const hex = (c: string, n = 64) => `0x${c.repeat(n)}`;
const MODEL_ID = hex('A');
const BID_ID = hex('b');
const SESSION_ID = hex('c');
const OWNER = hex('D', 40);
const BEYOND_2_53 = '340282366920938463463374607431768211455'; // 2^128 - 1

function aWireModel(fields: Record<string, string> = {}): string {
  const f = {
    Id: `"${MODEL_ID}"`,
    IpfsCID: `"${hex('e')}"`,
    Fee: '1000000000000000',
    Stake: BEYOND_2_53,
    Owner: `"${OWNER}"`,
    Name: '"llama-3.3-70b"',
    Tags: '["LLM","chat"]',
    CreatedAt: '1735689600',
    IsDeleted: 'false',
    ModelType: '"LLM"',
    ...fields,
  };
  return `{${Object.entries(f)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `"${k}":${v}`)
    .join(',')}}`;
}

function aWireBid(fields: Record<string, string> = {}): string {
  const f = {
    Id: `"${BID_ID}"`,
    Provider: `"${OWNER}"`,
    ModelAgentId: `"${MODEL_ID}"`,
    PricePerSecond: '"100000000000"',
    Nonce: '"1"',
    CreatedAt: '"1735690200"',
    DeletedAt: '"0"',
    ...fields,
  };
  return `{${Object.entries(f)
    .map(([k, v]) => `"${k}":${v}`)
    .join(',')}}`;
}

function aWireSession(fields: Record<string, string> = {}): string {
  const f = {
    Id: `"${SESSION_ID}"`,
    User: `"${OWNER}"`,
    Provider: `"${hex('1', 40)}"`,
    ModelAgentId: `"${MODEL_ID}"`,
    BidID: `"${BID_ID}"`,
    Stake: BEYOND_2_53,
    PricePerSecond: '100000000000',
    CloseoutReceipt: '""',
    CloseoutType: '0',
    ProviderWithdrawnAmount: '0',
    OpenedAt: '1735700000',
    EndsAt: '18446744073709551617',
    ClosedAt: '0',
    ...fields,
  };
  return `{${Object.entries(f)
    .map(([k, v]) => `"${k}":${v}`)
    .join(',')}}`;
}

describe('proxy-router wire → domain', () => {
  describe('models', () => {
    it('reads Go field names, lower-cases ids and keeps *big.Int amounts exact', () => {
      const [model] = modelsFromBody(`{"models":[${aWireModel()}]}`);
      expect(model).toEqual({
        id: MODEL_ID.toLowerCase(),
        name: 'llama-3.3-70b',
        owner: OWNER.toLowerCase(),
        createdAt: 1735689600,
        tags: ['LLM', 'chat'],
        modelType: 'LLM',
        isDeleted: false,
        fee: 1000000000000000n,
        stake: BigInt(BEYOND_2_53),
      });
    });

    it('takes a null Tags (Go nil slice) as none and a missing ModelType as UNKNOWN', () => {
      const [model] = modelsFromBody(`{"models":[${aWireModel({ Tags: 'null', ModelType: '' })}]}`);
      expect(model.tags).toEqual([]);
      expect(model.modelType).toBe('UNKNOWN');
    });

    it.each([
      ['a short id', { Id: '"0x1234"' }],
      ["a camelCase struct (the upstream swagger's mistake)", { Id: '', id: `"${MODEL_ID}"` }],
      ['a fractional stake', { Stake: '1.5' }],
      ['a negative fee', { Fee: '-1' }],
      ['a CreatedAt beyond 2^53', { CreatedAt: BEYOND_2_53 }],
      ['IsDeleted as a string', { IsDeleted: '"false"' }],
    ])('refuses %s', (_label, fields) => {
      expect(() => modelsFromBody(`{"models":[${aWireModel(fields)}]}`)).toThrow(WireFormatError);
    });

    it('refuses an envelope without `models` and a body that is not JSON', () => {
      expect(() => modelsFromBody('{"Models":[]}')).toThrow(WireFormatError);
      expect(() => modelsFromBody('<html>')).toThrow(WireFormatError);
    });
  });

  describe('bids', () => {
    it('reads lib.BigInt decimal strings', () => {
      expect(bidsFromBody(`{"bids":[${aWireBid({ PricePerSecond: `"${BEYOND_2_53}"` })}]}`)).toEqual([
        {
          id: BID_ID,
          provider: OWNER.toLowerCase(),
          modelId: MODEL_ID.toLowerCase(),
          pricePerSecond: BEYOND_2_53,
          nonce: '1',
          createdAt: 1735690200,
          deletedAt: 0,
        },
      ]);
    });

    it('answers null for the zero-valued bid the node gives for an unknown id', () => {
      const zero = aWireBid({ Provider: `"${hex('0', 40)}"`, ModelAgentId: `"${hex('0')}"`, PricePerSecond: '"0"', CreatedAt: '"0"' });
      expect(bidFromBody(`{"bid":${zero}}`)).toBeNull();
      expect(bidFromBody(`{"bid":${aWireBid()}}`)?.id).toBe(BID_ID);
    });

    it('reads rated bids', () => {
      expect(ratedBidsFromBody(`{"bids":[{"ID":"${BID_ID}","Bid":${aWireBid()},"Score":0.75}]}`)).toEqual([
        { bid: expect.objectContaining({ id: BID_ID }), score: 0.75 },
      ]);
    });
  });

  describe('sessions', () => {
    it('keeps Stake and EndsAt beyond 2^53 exact', () => {
      const session = sessionFromBody(`{"session":${aWireSession()}}`);
      expect(session).toEqual({
        id: SESSION_ID,
        user: OWNER.toLowerCase(),
        provider: hex('1', 40),
        modelId: MODEL_ID.toLowerCase(),
        bidId: BID_ID,
        stake: BigInt(BEYOND_2_53),
        pricePerSecond: '100000000000',
        openedAt: 1735700000,
        endsAt: 18446744073709551617n,
        closedAt: 0n,
      });
    });

    it('answers null for the zeroed struct of older nodes', () => {
      expect(sessionFromBody(`{"session":${aWireSession({ BidID: `"${hex('0')}"`, Stake: 'null' })}}`)).toBeNull();
    });

    it("reads a listing, an open's session id and the wallet", () => {
      expect(sessionsFromBody(`{"sessions":[${aWireSession()}]}`)).toHaveLength(1);
      expect(sessionIdFromBody(`{"sessionID":"${SESSION_ID.toUpperCase().replace('0X', '0x')}"}`)).toBe(SESSION_ID);
      expect(walletAddressFromBody(`{"address":"${OWNER}"}`)).toBe(OWNER.toLowerCase());
      expect(() => sessionIdFromBody('{"sessionID":""}')).toThrow(WireFormatError);
    });
  });

  describe('money (v7.11)', () => {
    const ABOVE_2_53 = '9007199254740993'; // 2^53 + 1: JSON.parse would read 9007199254740992

    it.each([
      ['decimal strings', `"${BEYOND_2_53}"`, `"${ABOVE_2_53}"`],
      ['JSON numbers', BEYOND_2_53, ABOVE_2_53],
    ])('reads balance, budget and supply exactly as %s', (_, big, justAbove) => {
      expect(balanceFromBody(`{"eth":${justAbove},"mor":${big}}`)).toEqual({ eth: 2n ** 53n + 1n, mor: 2n ** 128n - 1n });
      expect(sessionsBudgetFromBody(`{"budget":${justAbove}}`)).toBe(2n ** 53n + 1n);
      expect(tokenSupplyFromBody(`{"supply":${big}}`)).toBe(2n ** 128n - 1n);
      expect(stakesOnHoldFromBody(`{"available":${justAbove},"hold":0}`)).toEqual({ available: 2n ** 53n + 1n, hold: 0n });
    });

    it.each([
      ['a missing field', '{"eth":"1"}'],
      ['a negative amount', '{"eth":"-1","mor":"1"}'],
      ['a fraction', '{"eth":1.5,"mor":"1"}'],
      ['an exponent', '{"eth":1e21,"mor":"1"}'],
      ['a hex string', '{"eth":"0x10","mor":"1"}'],
      ['an empty string', '{"eth":"","mor":"1"}'],
      ['a boolean', '{"eth":true,"mor":"1"}'],
      ['an array body', '[1,2]'],
      ['not JSON', '<html>'],
    ])('refuses %s in a balance', (_, body) => {
      expect(() => balanceFromBody(body)).toThrow(WireFormatError);
    });

    it('refuses bad budget, supply and on-hold answers', () => {
      expect(() => sessionsBudgetFromBody('{"budget":null}')).toThrow(WireFormatError);
      expect(() => tokenSupplyFromBody('{"supply":"12abc"}')).toThrow(WireFormatError);
      expect(() => stakesOnHoldFromBody('{"available":"1"}')).toThrow(WireFormatError);
      expect(() => stakesOnHoldFromBody('{"available":"1","hold":" 2"}')).toThrow(WireFormatError);
    });

    it("reads a withdraw's transaction hash", () => {
      expect(txFromBody(`{"tx":"${hex('F')}"}`)).toBe(hex('f'));
      expect(() => txFromBody('{"tx":"0x12"}')).toThrow(WireFormatError);
      expect(() => txFromBody('{}')).toThrow(WireFormatError);
    });
  });

  describe('errors', () => {
    it('reads {"error"} and falls back to the text of other bodies', () => {
      expect(errorMessageFromBody('{"error":"failed to send transaction: nonce too low"}')).toBe(
        'failed to send transaction: nonce too low',
      );
      expect(errorMessageFromBody('404 page not found')).toBe('404 page not found');
      expect(errorMessageFromBody('{"message":"x"}')).toBe('{"message":"x"}');
    });
  });
});

import { WalletState } from './wallet-state';

const BIG = 2n ** 53n + 1n;

describe('WalletState', () => {
  it('is settable field by field, and reset restores the defaults', () => {
    const wallet = new WalletState();
    const defaults = wallet.current;
    wallet.set({ eth: BIG, hold: 3n });
    expect(wallet.current).toEqual({ ...defaults, eth: BIG, hold: 3n });
    expect(() => wallet.set({ mor: -1n })).toThrow(RangeError);
    wallet.reset();
    expect(wallet.current).toEqual(defaults);
  });

  it('encodes big integers as decimal strings or exact numbers', () => {
    const wallet = new WalletState();
    expect(wallet.encode(BIG)).toBe(`${BIG}`);
    wallet.setEncoding('number');
    expect(wallet.encode(BIG)).toBe(BIG);
    expect(() => wallet.setEncoding('hex' as 'number')).toThrow(RangeError);
  });

  it('a withdraw moves the available stake to the MOR balance and is kept', () => {
    const wallet = new WalletState();
    wallet.set({ mor: 10n, available: BIG, hold: 4n });
    const tx = wallet.withdraw(7);
    expect(wallet.current).toMatchObject({ mor: BIG + 10n, available: 0n, hold: 4n });
    expect(wallet.withdraw(1)).not.toBe(tx);
    expect(wallet.receivedWithdraws()).toEqual([
      { iterations: 7, amount: BIG, tx },
      { iterations: 1, amount: 0n, tx: expect.stringMatching(/^0x[0-9a-f]{64}$/) as unknown },
    ]);
  });
});

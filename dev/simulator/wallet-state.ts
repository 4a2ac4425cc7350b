import { randomHex } from './session-ledger';

/** How the node's build writes a big integer: `lib.BigInt` (decimal string) or `*big.Int` (JSON number). */
export type BigIntEncoding = 'string' | 'number';
export const BIGINT_ENCODINGS: readonly BigIntEncoding[] = ['string', 'number'];

export interface WalletNumbers {
  /** Wallet balances in wei. */
  eth: bigint;
  mor: bigint;
  /** Today's session budget of the chain (`/blockchain/sessions/budget`). */
  budget: bigint;
  /** MOR supply (`/blockchain/token/supply`). */
  supply: bigint;
  /** On-hold stake after closes: the part withdrawable now, and the part still locked. */
  available: bigint;
  hold: bigint;
}

export interface ReceivedWithdraw {
  iterations: number;
  /** What the withdraw moved to the MOR balance. */
  amount: bigint;
  tx: string;
}

const WEI = 10n ** 18n;

// Far above 2^53, like the real chain's numbers; supply / budget matches the ledger's
// STAKE_PER_COST so the stakes it computes agree with these reads.
const defaults = (): WalletNumbers => ({
  eth: 2n * WEI + 123n,
  mor: 10_000n * WEI + 456n,
  budget: 100_000n * WEI,
  supply: 40_000_000_000n * WEI,
  available: 0n,
  hold: 0n,
});

/** The node wallet's money reads and its stake withdraws: settable, with every withdraw kept. */
export class WalletState {
  private numbers = defaults();
  private withdraws: ReceivedWithdraw[] = [];
  encoding: BigIntEncoding = 'string';

  get current(): Readonly<WalletNumbers> {
    return { ...this.numbers };
  }

  set(values: Partial<WalletNumbers>): void {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) continue;
      if (typeof value !== 'bigint' || value < 0n) throw new RangeError(`${key} must be a non-negative bigint`);
      this.numbers[key as keyof WalletNumbers] = value;
    }
  }

  setEncoding(encoding: BigIntEncoding): void {
    if (!BIGINT_ENCODINGS.includes(encoding)) throw new RangeError(`unknown encoding ${String(encoding)}`);
    this.encoding = encoding;
  }

  /** A big integer as this build writes it. */
  encode(value: bigint): string | bigint {
    return this.encoding === 'string' ? value.toString() : value;
  }

  /** The node's withdraw: the available on-hold stake goes back to the wallet's MOR. */
  withdraw(iterations: number): string {
    const amount = this.numbers.available;
    this.numbers.mor += amount;
    this.numbers.available = 0n;
    const tx = randomHex(32);
    this.withdraws.push({ iterations, amount, tx });
    return tx;
  }

  receivedWithdraws(): ReceivedWithdraw[] {
    return this.withdraws.map((w) => ({ ...w }));
  }

  reset(): void {
    this.numbers = defaults();
    this.withdraws = [];
    this.encoding = 'string';
  }
}

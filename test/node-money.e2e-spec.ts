/**
 * The node adapter's money operations (v7.11: balance, sessions budget, token supply,
 * on-hold stake and its withdraw) against the simulator over real HTTP, basic auth on:
 * big integers beyond 2^53 exact in both of the node's encodings, reads retried, the
 * withdraw sent exactly once whatever happens to it.
 */
import { type Simulator, startSimulator } from '../dev/simulator';
import { DomainError } from '../src/common/errors';
import { NonceRejectedError, OutcomeUnknownError, ProviderUpstreamError } from '../src/proxy-router/errors';
import { type ProxyRouterAdapterOptions, ProxyRouterAdapter, type ProxyRouterSettings } from '../src/proxy-router/proxy-router.adapter';

jest.setTimeout(30_000);

const USER = 'gateway';
const PASSWORD = 'pr-password-money';
const ABOVE_2_53 = 2n ** 53n + 1n;
const WEI = 10n ** 18n;

async function failureOf(promise: Promise<unknown>): Promise<DomainError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof DomainError)) throw new Error('expected a DomainError', { cause: outcome });
  return outcome;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('NodeAdapter money operations against the simulator (e2e)', () => {
  let sim: Simulator;
  const adapters: ProxyRouterAdapter[] = [];

  function anAdapter(settings: Partial<ProxyRouterSettings> = {}, options: ProxyRouterAdapterOptions = {}): ProxyRouterAdapter {
    const adapter = new ProxyRouterAdapter(
      { url: sim.url, username: USER, password: PASSWORD, timeoutMs: 3_000, sessionOpenTimeoutMs: 3_000, ...settings },
      { logger: { warn: () => undefined }, retryInitialDelayMs: 10, retryMaxDelayMs: 50, ...options },
    );
    adapters.push(adapter);
    return adapter;
  }

  beforeAll(async () => {
    sim = await startSimulator({ username: USER, password: PASSWORD, seed: 'node-money' });
  });
  afterAll(async () => {
    await Promise.all(adapters.map((adapter) => adapter.onModuleDestroy()));
    await sim.stop();
  });
  beforeEach(() => sim.reset());

  describe('reads', () => {
    it.each(['string', 'number'] as const)('balance, budget and supply are exact beyond 2^53 when the node sends %ss', async (encoding) => {
      sim.control.setBigIntEncoding(encoding);
      const numbers = { eth: ABOVE_2_53, mor: 12_345n * WEI + 7n, budget: ABOVE_2_53 + 2n, supply: 42_000_000n * WEI + 3n };
      sim.control.setWallet(numbers);
      const adapter = anAdapter();
      expect(await adapter.balance()).toEqual({ eth: numbers.eth, mor: numbers.mor });
      expect(await adapter.sessionsBudget()).toBe(numbers.budget);
      expect(await adapter.tokenSupply()).toBe(numbers.supply);
      expect(sim.counts()).toMatchObject({ balance: 1, budget: 1, supply: 1 });
    });

    it('reads the on-hold stake exactly', async () => {
      sim.control.setWallet({ available: ABOVE_2_53, hold: 3n * WEI + 1n });
      expect(await anAdapter().stakesOnHold(255)).toEqual({ available: ABOVE_2_53, hold: 3n * WEI + 1n });
      expect(sim.counts().onHold).toBe(1);
    });

    it('a 5xx of a money read is retried and can succeed', async () => {
      sim.control.failNext('balance', { status: 500 });
      sim.control.failNext('onHold', { status: 503 });
      const adapter = anAdapter();
      await expect(adapter.balance()).resolves.toMatchObject({ eth: sim.control.walletNumbers().eth });
      await expect(adapter.stakesOnHold(1)).resolves.toEqual({ available: 0n, hold: 0n });
      expect(sim.counts()).toMatchObject({ balance: 2, onHold: 2 });
    });

    it('an answer the gateway cannot read is a 502, never a guessed number', async () => {
      sim.control.failNext('supply', { status: 200, body: { supply: '1e21' } });
      sim.control.failNext('budget', { status: 200, body: { budget: -5 } });
      const adapter = anAdapter();
      expect(await failureOf(adapter.tokenSupply())).toBeInstanceOf(ProviderUpstreamError);
      expect(await failureOf(adapter.sessionsBudget())).toBeInstanceOf(ProviderUpstreamError);
    });

    it('refuses iterations outside 1..255 without sending anything', async () => {
      const adapter = anAdapter();
      await expect(adapter.stakesOnHold(0)).rejects.toThrow(RangeError);
      await expect(adapter.withdrawStakes(256)).rejects.toThrow(RangeError);
      expect(sim.counts()).toMatchObject({ onHold: 0, withdraw: 0 });
    });
  });

  describe('withdraw', () => {
    it('withdraws the available stake once and returns the transaction hash', async () => {
      sim.control.setWallet({ available: ABOVE_2_53, mor: 1n });
      const tx = await anAdapter().withdrawStakes(20);
      expect(tx).toMatch(/^0x[0-9a-f]{64}$/);
      expect(sim.control.receivedWithdraws()).toEqual([{ iterations: 20, amount: ABOVE_2_53, tx }]);
      expect(sim.control.walletNumbers()).toMatchObject({ available: 0n, mor: ABOVE_2_53 + 1n });
    });

    it('a 500 is a failure, sent exactly once (never retried)', async () => {
      sim.control.setWallet({ available: 5n });
      sim.control.failNext('withdraw', { status: 500 });
      const error = await failureOf(anAdapter().withdrawStakes(1));
      expect(error).toBeInstanceOf(ProviderUpstreamError);
      expect(error).toMatchObject({ detail: 'proxy-router could not withdraw the on-hold stake' });
      expect(sim.counts().withdraw).toBe(1);
      expect(sim.control.walletNumbers().available).toBe(5n);
    });

    it('a timeout has an unknown outcome and is sent exactly once', async () => {
      sim.control.setWallet({ available: 5n });
      sim.control.hangNext('withdraw', { commit: true });
      const error = await failureOf(anAdapter({ sessionOpenTimeoutMs: 300 }).withdrawStakes(1));
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect(error).toMatchObject({ status: 504, code: 'withdraw_outcome_unknown', reason: 'timeout', operation: 'withdraw' });
      expect(sim.counts().withdraw).toBe(1);
      // It did land: hence "unknown", and the on-hold read shows it.
      expect(sim.control.receivedWithdraws()).toHaveLength(1);
    });

    it('a connection lost after it was sent has an unknown outcome and is not re-sent', async () => {
      sim.control.hangNext('withdraw');
      const sending = failureOf(anAdapter().withdrawStakes(1));
      await sleep(150);
      sim.control.releaseHeld();
      expect(await sending).toMatchObject({ code: 'withdraw_outcome_unknown', reason: 'connection_lost' });
      expect(sim.counts().withdraw).toBe(1);
    });

    it('nonce answers classify as for opens: "underpriced" is safe to resend, "nonce too low" is unknown', async () => {
      const adapter = anAdapter();
      sim.control.failNext('withdraw', { error: 'failed to send transaction: replacement transaction underpriced' });
      expect(await failureOf(adapter.withdrawStakes(1))).toBeInstanceOf(NonceRejectedError);
      sim.control.failNext('withdraw', { error: 'failed to send transaction: nonce too low', commit: true });
      expect(await failureOf(adapter.withdrawStakes(1))).toMatchObject({ code: 'withdraw_outcome_unknown', reason: 'nonce_ambiguous' });
      expect(sim.counts().withdraw).toBe(2);
    });

    it('a success whose hash cannot be read has an unknown outcome', async () => {
      sim.control.failNext('withdraw', { status: 200, body: { tx: 'pending' }, commit: true });
      expect(await failureOf(anAdapter().withdrawStakes(1))).toMatchObject({
        code: 'withdraw_outcome_unknown',
        reason: 'unreadable_answer',
      });
      expect(sim.counts().withdraw).toBe(1);
    });
  });
});

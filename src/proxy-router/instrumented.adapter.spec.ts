import { Histogram, Registry } from 'prom-client';
import { instrumentAdapter } from './instrumented.adapter';
import { NotConfiguredNodeAdapter } from './not-configured.adapter';

describe('instrumentAdapter', () => {
  it('times the money operations under their own operation labels', async () => {
    const registry = new Registry();
    const calls = new Histogram({ name: 'calls', help: 'calls', labelNames: ['operation', 'outcome'], registers: [registry] });
    const adapter = instrumentAdapter(new NotConfiguredNodeAdapter(), calls);
    const outcomes = await Promise.allSettled([
      adapter.balance(),
      adapter.sessionsBudget(),
      adapter.tokenSupply(),
      adapter.stakesOnHold(1),
      adapter.withdrawStakes(1),
    ]);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    const counted = (await calls.get()).values
      .filter((v) => v.metricName === 'calls_count')
      .map((v) => `${String(v.labels.operation)}:${String(v.labels.outcome)}`)
      .sort();
    expect(counted).toEqual(
      ['balance', 'sessionsBudget', 'stakesOnHold', 'tokenSupply', 'withdrawStakes'].map((op) => `${op}:proxy_router_not_configured`),
    );
  });
});

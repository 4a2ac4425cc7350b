import { FaultPlan, OPERATIONS, isOperation } from './fault-plan';

describe('FaultPlan', () => {
  it('fails the next N calls of an operation with the scripted answer, then stops', () => {
    const plan = new FaultPlan();
    plan.failNext('openModel', { times: 2, error: 'failed to send transaction: nonce too low' });

    const expected = { status: 500, body: { error: 'failed to send transaction: nonce too low' }, commit: false };
    expect(plan.takeFailure('openModel')).toEqual(expected);
    expect(plan.takeFailure('openModel')).toEqual(expected);
    expect(plan.takeFailure('openModel')).toBeUndefined();
  });

  it('queues rules in order and keeps operations apart', () => {
    const plan = new FaultPlan();
    plan.failNext('close', { status: 502, body: 'Bad Gateway' });
    plan.failNext('close', { error: 'already known', commit: true });

    expect(plan.takeFailure('models')).toBeUndefined();
    expect(plan.takeFailure('close')).toEqual({ status: 502, body: 'Bad Gateway', commit: false });
    expect(plan.takeFailure('close')).toEqual({ status: 500, body: { error: 'already known' }, commit: true });
  });

  it('scripts hangs like failures', () => {
    const plan = new FaultPlan();
    plan.hangNext('openBid', { commit: true });
    expect(plan.takeHang('openBid')).toEqual({ commit: true });
    expect(plan.takeHang('openBid')).toBeUndefined();
  });

  it('refuses nonsense', () => {
    const plan = new FaultPlan();
    expect(() => plan.failNext('bid', { times: 0 })).toThrow(RangeError);
    expect(() => plan.failNext('bid', { status: 42 })).toThrow(RangeError);
    expect(() => plan.setLatency('bid', -1)).toThrow(RangeError);
  });

  it('counts calls per operation and resets them', () => {
    const plan = new FaultPlan();
    plan.count('chat');
    plan.count('chat');
    plan.count('wallet');
    expect(plan.counts()).toMatchObject({ chat: 2, wallet: 1, models: 0 });
    expect(Object.keys(plan.counts())).toEqual([...OPERATIONS]);

    plan.resetCounts();
    expect(plan.counts().chat).toBe(0);
  });

  it('reset clears latencies and scripted rules', () => {
    const plan = new FaultPlan();
    plan.setLatency('session', 250);
    plan.failNext('session');
    plan.reset();
    expect(plan.latencyOf('session')).toBe(0);
    expect(plan.takeFailure('session')).toBeUndefined();
  });

  it('knows its operation names', () => {
    expect(isOperation('userSessions')).toBe(true);
    expect(isOperation('sessions')).toBe(false);
  });
});

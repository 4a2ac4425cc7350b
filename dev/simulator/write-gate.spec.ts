import { WriteGate } from './write-gate';

describe('WriteGate', () => {
  it('admits every write while no limit is set', () => {
    const gate = new WriteGate();
    const releases = [gate.tryEnter(), gate.tryEnter(), gate.tryEnter()];
    expect(releases.every((release) => release !== null)).toBe(true);
    expect(gate.active).toBe(3);
  });

  it('refuses the writes beyond K that overlap, and admits again once one lands', () => {
    const gate = new WriteGate();
    gate.setLimit(2);
    const first = gate.tryEnter();
    const second = gate.tryEnter();
    expect(gate.tryEnter()).toBeNull();
    expect(gate.active).toBe(2);

    first?.();
    expect(gate.tryEnter()).not.toBeNull();
    second?.();
  });

  it('counts writes admitted before the limit was set', () => {
    const gate = new WriteGate();
    const early = gate.tryEnter();
    gate.setLimit(1);
    expect(gate.tryEnter()).toBeNull();
    early?.();
    early?.();
    expect(gate.active).toBe(0);
    expect(gate.tryEnter()).not.toBeNull();
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new WriteGate().setLimit(0)).toThrow(RangeError);
    expect(() => new WriteGate().setLimit(1.5)).toThrow(RangeError);
  });
});

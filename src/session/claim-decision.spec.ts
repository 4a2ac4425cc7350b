import { decideClaim } from './claim-decision';
import { aRow } from './session-builders.spec-support';
import { SessionTarget } from './session-target';

const NOW = new Date('2026-12-01T12:00:00Z');
const MIN_S = 300;
const inSeconds = (s: number) => new Date(NOW.getTime() + s * 1000);
const modelA: SessionTarget = { kind: 'model', modelId: '0xmodel-a', sessionDuration: 3600, directPayment: false, failover: false };
const bidB: SessionTarget = { kind: 'bid', bidId: '0xbid-b', modelId: '0xmodel-a', sessionDuration: 3600 };

describe('decideClaim', () => {
  it('opens when the key holds nothing', () => {
    expect(decideClaim([], modelA, NOW, MIN_S)).toEqual({ kind: 'open', replacing: null });
  });

  it('waits for an open in flight, whatever else the key holds', () => {
    const opening = aRow({ status: 'opening' });
    const replacing = aRow({ status: 'replacing', expiresAt: inSeconds(3000) });
    expect(decideClaim([replacing, opening], modelA, NOW, MIN_S)).toEqual({ kind: 'wait', intentId: opening.id });
  });

  it('reuses the active session of the same model with time left', () => {
    const active = aRow({ status: 'active', expiresAt: inSeconds(MIN_S) });
    expect(decideClaim([active], modelA, NOW, MIN_S)).toEqual({ kind: 'reuse', session: active });
  });

  it('reuses a session whose end the node has not reported yet', () => {
    const active = aRow({ status: 'active', expiresAt: null });
    expect(decideClaim([active], modelA, NOW, MIN_S)).toEqual({ kind: 'reuse', session: active });
  });

  it('reuses a replacing session of the same target (a replacement that failed to finish)', () => {
    const replacing = aRow({ status: 'replacing', expiresAt: inSeconds(3000) });
    expect(decideClaim([replacing], modelA, NOW, MIN_S)).toEqual({ kind: 'reuse', session: replacing });
  });

  it('replaces the same model when less than the minimum duration is left', () => {
    const active = aRow({ status: 'active', expiresAt: inSeconds(MIN_S - 1) });
    expect(decideClaim([active], modelA, NOW, MIN_S)).toEqual({ kind: 'open', replacing: active });
  });

  it('replaces a session of another model', () => {
    const active = aRow({ status: 'active', modelId: '0xmodel-z', expiresAt: inSeconds(3000) });
    expect(decideClaim([active], modelA, NOW, MIN_S)).toEqual({ kind: 'open', replacing: active });
  });

  it('tells a bid session from a model session of the same model', () => {
    const modelSession = aRow({ status: 'active', kind: 'model', modelId: '0xmodel-a', bidId: '0xbid-b', expiresAt: inSeconds(3000) });
    expect(decideClaim([modelSession], bidB, NOW, MIN_S)).toEqual({ kind: 'open', replacing: modelSession });
    const bidSession = aRow({ status: 'active', kind: 'bid', modelId: '0xmodel-a', bidId: '0xbid-b', expiresAt: inSeconds(3000) });
    expect(decideClaim([bidSession], bidB, NOW, MIN_S)).toEqual({ kind: 'reuse', session: bidSession });
    expect(decideClaim([bidSession], modelA, NOW, MIN_S)).toEqual({ kind: 'open', replacing: bidSession });
  });
});

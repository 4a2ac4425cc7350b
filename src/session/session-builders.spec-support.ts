import type { OnChainSession } from '../proxy-router/node.types';
import { Session } from './session.entity';

/** Test builders for the session module's unit specs. */
let n = 0;
export function aRow(overrides: Partial<Session> = {}): Session {
  n++;
  return Object.assign(new Session(), {
    id: `row-${n}`,
    apiKeyId: 'key-1',
    userId: 'user-1',
    kind: 'model',
    modelId: '0xmodel-a',
    bidId: null,
    provider: null,
    chainSessionId: null,
    status: 'active',
    sessionDuration: 3600,
    directPayment: false,
    failover: false,
    openRequestedAt: null,
    openSentAt: null,
    walletNewestBeforeSend: null,
    openedAt: null,
    expiresAt: null,
    closedAt: null,
    failureReason: null,
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...overrides,
  });
}

export function anOnChainSession(overrides: Partial<OnChainSession> = {}): OnChainSession {
  n++;
  return {
    id: `0xsession-${n}`,
    user: '0xwallet',
    provider: '0xprovider',
    modelId: '0xmodel-a',
    bidId: '0xbid-a',
    stake: 10n ** 20n,
    pricePerSecond: '1000',
    openedAt: 1_800_000_000,
    endsAt: 1_800_003_600n,
    closedAt: 0n,
    ...overrides,
  };
}

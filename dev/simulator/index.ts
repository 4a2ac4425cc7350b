/** Morpheus-Lumerin proxy-router simulator (dev and tests only; not in the production image). */
export { startSimulator, type Simulator, type SimulatorOptions } from './server';
export { SimulatorControl, type CommitSessionOptions } from './simulator-control';
export { OPERATIONS, type SimOperation, type OperationCounts, type FailNextOptions, type HangNextOptions } from './fault-plan';
export { type ChatBehaviour, ALL_SESSIONS } from './chat-behaviour';
export { type MarketplaceFixture } from './marketplace-fixture';
export { type SessionRecord, STAKE_PER_COST } from './session-ledger';
export { type ReceivedOpen } from './open-log';
export { NodeErrors } from './sim-error';
export { CONTROL_PREFIX } from './control-routes';
export { type BigIntEncoding, type ReceivedWithdraw, type WalletNumbers } from './wallet-state';

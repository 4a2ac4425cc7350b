/**
 * The e2e test kit: one simulator credential, one environment builder, key builders, one
 * way to start gateways (in this process or as processes), a typed client of the session
 * routes, a relay in front of the node (and a whole stack behind one), database probes and one wait helper. The
 * benchmarks (bench/) use it too.
 */
export { gatewayEnv, type GatewayEnvOptions } from './env';
export { type GatewayProcess, type InProcessOptions, type ProcessOptions, settleBackground, startGateway } from './gateways';
export { aForgedApiKey, aKey, aKeyHolder, type KeyHolder, type KeyMaker, keyStore, someKeys, type TestKey } from './keys';
export { isOpenRequest, type NodeRelay, type RelayedRequest, startNodeRelay } from './relay';
export { type RelayedGateway, startRelayedGateway } from './relayed-gateway';
export { liveCount, rowsOf, type SessionRow } from './rows';
export {
  type CloseBody,
  type CreateBody,
  type Credential,
  type CurrentSessionBody,
  errorBody,
  type ErrorFields,
  type ErrorType,
  type JsonResponse,
  type PingBody,
  sessionApi,
  type SessionApi,
  type SessionCreatedBody,
  UNKNOWN_OUTCOME,
} from './session-api';
export { chainNow, chainTime, HEX32, onChain, onNextOpen, openableModels, SIMULATOR, totalCalls } from './simulator';
export { waitFor } from './wait';
export { seedWalletHistory, sessionsSince, walletIds, type WalletHistory } from './wallet-history';
export { aUserAccessToken } from './tokens';

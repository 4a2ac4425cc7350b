/** The node's endpoints the gateway uses (see docs/proxy-router.wire.yaml). */

export interface PageRequest {
  offset: number;
  limit: number;
  /** Registration (opening) order; `desc` is newest first. */
  order?: 'asc' | 'desc';
}

const seg = (value: string): string => encodeURIComponent(value);
const page = ({ offset, limit, order = 'asc' }: PageRequest): string => `offset=${offset}&limit=${limit}&order=${order}`;

export const NodePaths = {
  health: (): string => '/healthcheck',
  wallet: (): string => '/wallet',
  /** Without `limit` the node answers every model at once (a deprecated mode): always page. */
  models: (p: PageRequest): string => `/blockchain/models?${page(p)}`,
  bids: (modelId: string, p: PageRequest): string => `/blockchain/models/${seg(modelId)}/bids?${page(p)}`,
  ratedBids: (modelId: string): string => `/blockchain/models/${seg(modelId)}/bids/rated`,
  bid: (bidId: string): string => `/blockchain/bids/${seg(bidId)}`,
  openByModel: (modelId: string): string => `/blockchain/models/${seg(modelId)}/session`,
  openByBid: (bidId: string): string => `/blockchain/bids/${seg(bidId)}/session`,
  close: (sessionId: string): string => `/blockchain/sessions/${seg(sessionId)}/close`,
  session: (sessionId: string): string => `/blockchain/sessions/${seg(sessionId)}`,
  userSessions: (user: string, p: PageRequest): string => `/blockchain/sessions/user?user=${seg(user)}&${page(p)}`,
  chat: (): string => '/v1/chat/completions',
  // v7.11 money reads and the stake withdraw.
  balance: (): string => '/blockchain/balance',
  sessionsBudget: (): string => '/blockchain/sessions/budget',
  tokenSupply: (): string => '/blockchain/token/supply',
  stakesOnHold: (iterations: number): string => `/blockchain/stakes/onhold?iterations=${iterations}`,
  withdrawStakes: (): string => '/blockchain/stakes/withdraw',
} as const;

/** The node's `limit` is a uint8. */
export const MAX_PAGE_SIZE = 255;

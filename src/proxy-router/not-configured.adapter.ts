import { ProviderNotConfiguredError } from './errors';
import { NodeAdapter } from './node.adapter';
import type { Bid, Model, OnChainSession, PingResult, RatedBid, StakesOnHold, WalletBalance } from './node.types';

const refuse = (): Promise<never> => Promise.reject(new ProviderNotConfiguredError());

/** Without PROXY_ROUTER_URL every call fails at once with a 503 "proxy-router not configured". */
export class NotConfiguredNodeAdapter extends NodeAdapter {
  listModels(): Promise<Model[]> {
    return refuse();
  }
  listBids(): Promise<Bid[]> {
    return refuse();
  }
  ratedBids(): Promise<RatedBid[]> {
    return refuse();
  }
  getBid(): Promise<Bid | null> {
    return refuse();
  }
  openSessionByModel(): Promise<string> {
    return refuse();
  }
  openSessionByBid(): Promise<string> {
    return refuse();
  }
  closeSession(): Promise<{ alreadyClosed: boolean }> {
    return refuse();
  }
  getSession(): Promise<OnChainSession | null> {
    return refuse();
  }
  walletAddress(): Promise<string> {
    return refuse();
  }
  walletSessions(): Promise<OnChainSession[]> {
    return refuse();
  }
  balance(): Promise<WalletBalance> {
    return refuse();
  }
  sessionsBudget(): Promise<bigint> {
    return refuse();
  }
  tokenSupply(): Promise<bigint> {
    return refuse();
  }
  stakesOnHold(): Promise<StakesOnHold> {
    return refuse();
  }
  withdrawStakes(): Promise<string> {
    return refuse();
  }
  ping(): Promise<PingResult> {
    return refuse();
  }
  health(): Promise<void> {
    return refuse();
  }
}

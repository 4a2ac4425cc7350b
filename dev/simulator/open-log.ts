/** One open the node was asked for, as it parsed the request (whatever its outcome). */
export interface ReceivedOpen {
  op: 'openModel' | 'openBid';
  /** The model id or bid id of the path. */
  target: string;
  sessionDuration: bigint;
  directPayment: boolean;
  failover: boolean;
}

/** The opens the simulator received, in arrival order: lets tests see what the gateway sent. */
export class OpenLog {
  private readonly received: ReceivedOpen[] = [];

  record(open: ReceivedOpen): void {
    this.received.push(open);
  }

  all(): ReceivedOpen[] {
    return this.received.map((open) => ({ ...open }));
  }

  clear(): void {
    this.received.length = 0;
  }
}

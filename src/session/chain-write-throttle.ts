import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { failureLogFields } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DatabaseEndpoint } from '../database/database-endpoint';
import { DedicatedConnection } from '../database/dedicated-connection';
import { NonceRejectedError } from '../proxy-router/errors';
import { ChainThrottleRepository } from './chain-throttle.repository';
/** How stale this instance's view of the shared throttle state may be. */
const STATE_TTL_MS = 1_000;

/**
 * The node signs every open and close with one wallet and has no nonce lock, so bursts of
 * writes can collide. Normally writes run concurrently; after a nonce rejection every
 * instance serialises them for the cooling-off window (sliding), and the rejected write is
 * retried once in that queue. Across instances the queue's head holds an advisory lock on
 * a dedicated connection; on the embedded database (one process) the in-memory queue is
 * enough.
 */
@Injectable()
export class ChainWriteThrottle implements OnApplicationShutdown {
  private readonly logger = new Logger(ChainWriteThrottle.name);
  private tail: Promise<unknown> = Promise.resolve();
  private until = 0;
  private checkedAt = 0;
  private lockConnection?: DedicatedConnection;
  private readonly outside = new Set<Promise<unknown>>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly state: ChainThrottleRepository,
    private readonly endpoint: DatabaseEndpoint,
  ) {}

  async write<T>(send: () => Promise<T>): Promise<T> {
    try {
      return (await this.throttled()) ? await this.enqueue(send) : await this.unqueued(send);
    } catch (error) {
      if (!(error instanceof NonceRejectedError)) throw error;
      // Rejected for its nonce: nothing was sent on chain, so one retry is safe.
      this.logger.warn(failureLogFields(error), 'on-chain write rejected for its nonce: serialising writes and retrying once');
      await this.engage();
      return this.enqueue(send);
    }
  }

  /** Writes sent before the throttle engaged; the queue's head waits for them to finish. */
  private async unqueued<T>(send: () => Promise<T>): Promise<T> {
    const running = send();
    this.outside.add(running);
    try {
      return await running;
    } finally {
      this.outside.delete(running);
    }
  }

  private enqueue<T>(send: () => Promise<T>): Promise<T> {
    // A queued write must not overlap a write sent outside the queue: that overlap is what
    // the node's nonce cannot take.
    const run = this.tail.then(() => Promise.allSettled([...this.outside])).then(() => this.exclusively(send));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async exclusively<T>(send: () => Promise<T>): Promise<T> {
    const lock = this.crossInstanceLock();
    if (!lock) return send();
    await this.state.lockWrites(lock);
    try {
      return await send();
    } finally {
      await this.state.unlockWrites(lock).catch((error: unknown) => {
        // A lost connection releases its locks by itself.
        this.logger.warn({ err: error }, 'could not release the write lock');
      });
    }
  }

  private crossInstanceLock(): DedicatedConnection | undefined {
    if (this.endpoint.isEmbedded) return undefined;
    this.lockConnection ??= new DedicatedConnection(this.endpoint.url, 'chain-write-lock');
    return this.lockConnection;
  }

  private async throttled(): Promise<boolean> {
    const now = Date.now();
    if (now < this.until) return true;
    if (now - this.checkedAt < STATE_TTL_MS) return false;
    this.checkedAt = now;
    this.until = await this.state.until();
    return now < this.until;
  }

  /** Starts (or extends) the cooling-off window for every instance. */
  private async engage(): Promise<void> {
    const seconds = this.config.sessions.chainThrottleCooldownS;
    this.until = Math.max(this.until, Date.now() + seconds * 1000);
    await this.state.extend(seconds);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.lockConnection?.close();
  }
}

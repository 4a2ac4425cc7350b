/** Thrown when every slot is busy and the queue is full. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
}

/**
 * At most `maxActive` tasks run at once; up to `maxQueued` more wait in arrival order; any
 * further task is refused at once with QueueFullError. A finished task hands its slot to the
 * first waiter, so the number running never exceeds the bound.
 */
export class BoundedConcurrency {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly maxActive: number,
    readonly maxQueued: number,
  ) {}

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.maxActive) {
      this.running++;
    } else {
      if (this.waiting.length >= this.maxQueued) throw new QueueFullError('queue full');
      // The slot is handed over by the task that finishes: `running` stays as it is.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

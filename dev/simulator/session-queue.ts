/**
 * The node serves one request per session at a time (a FIFO semaphore per session): a
 * second chat — or a ping — waits until the first has finished streaming.
 */
export class SessionQueue {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, number>();

  /** Resolves, in arrival order, with the function that lets the next request in. */
  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let open!: () => void;
    const turn = new Promise<void>((resolve) => {
      open = resolve;
    });
    const tail = previous.then(() => turn);
    this.tails.set(key, tail);
    this.waiting.set(key, (this.waiting.get(key) ?? 0) + 1);
    await previous;
    return this.releaser(key, tail, open);
  }

  /** Requests holding or waiting for the session. */
  depth(key: string): number {
    return this.waiting.get(key) ?? 0;
  }

  private releaser(key: string, tail: Promise<void>, open: () => void): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.waiting.get(key) ?? 1) - 1;
      if (left > 0) this.waiting.set(key, left);
      else this.waiting.delete(key);
      if (this.tails.get(key) === tail) this.tails.delete(key);
      open();
    };
  }
}

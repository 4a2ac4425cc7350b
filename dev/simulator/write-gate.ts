/**
 * The node signs every write with one wallet and has no nonce lock, so overlapping writes
 * pick the same nonce and all but one are rejected. With a limit K set, a write that finds K
 * others in flight is refused ("replacement transaction underpriced"); refused writes do not
 * occupy a slot. Writes are counted even without a limit, so enabling it mid-flight is exact.
 */
export class WriteGate {
  private inFlight = 0;
  private limit: number | null = null;

  setLimit(limit: number | null): void {
    if (limit !== null && (!Number.isInteger(limit) || limit < 1)) {
      throw new RangeError('maxConcurrentWrites must be a positive integer or null');
    }
    this.limit = limit;
  }

  get maxConcurrentWrites(): number | null {
    return this.limit;
  }

  get active(): number {
    return this.inFlight;
  }

  /** Returns a release function, or null when the write collides. */
  tryEnter(): (() => void) | null {
    if (this.limit !== null && this.inFlight >= this.limit) return null;
    this.inFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= 1;
    };
  }
}

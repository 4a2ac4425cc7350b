/**
 * One value, loaded on demand and kept for `ttlMs` (0: not kept). Concurrent misses share
 * one load; a failed load is not kept, so the next call tries again.
 */
export class SingleFlightCache<T> {
  private value?: { data: T; expiresAt: number };
  private inflight?: Promise<T>;

  constructor(
    private readonly ttlMs: number,
    private readonly load: () => Promise<T>,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<T> {
    if (this.value && this.now() < this.value.expiresAt) return Promise.resolve(this.value.data);
    if (!this.inflight) {
      const flight = this.refresh();
      this.inflight = flight;
      // Cleared whichever way it ends; callers still see the outcome through `flight`.
      const land = () => {
        if (this.inflight === flight) this.inflight = undefined;
      };
      void flight.then(land, land);
    }
    return this.inflight;
  }

  private async refresh(): Promise<T> {
    const data = await this.load();
    if (this.ttlMs > 0) this.value = { data, expiresAt: this.now() + this.ttlMs };
    return data;
  }
}

import { SingleFlightCache } from './single-flight-cache';

/** A load that resolves when told to, counting its calls. */
function controllableLoad() {
  const pending: Array<{ resolve: (v: number) => void; reject: (e: Error) => void }> = [];
  const load = jest.fn(() => new Promise<number>((resolve, reject) => pending.push({ resolve, reject })));
  return { load, pending };
}

describe('SingleFlightCache', () => {
  it('collapses concurrent misses into one load', async () => {
    const { load, pending } = controllableLoad();
    const cache = new SingleFlightCache(60_000, load);
    const all = Promise.all(Array.from({ length: 100 }, () => cache.get()));
    pending[0].resolve(7);
    await expect(all).resolves.toEqual(Array(100).fill(7));
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('keeps the value for the TTL, then loads again', async () => {
    let now = 1_000;
    let value = 0;
    const cache = new SingleFlightCache(
      500,
      async () => ++value,
      () => now,
    );
    await expect(cache.get()).resolves.toBe(1);
    now += 499;
    await expect(cache.get()).resolves.toBe(1);
    now += 1;
    await expect(cache.get()).resolves.toBe(2);
  });

  it('with TTL 0 keeps nothing but still shares a load in flight', async () => {
    const { load, pending } = controllableLoad();
    const cache = new SingleFlightCache(0, load);
    const both = Promise.all([cache.get(), cache.get()]);
    pending[0].resolve(1);
    await expect(both).resolves.toEqual([1, 1]);
    const third = cache.get();
    pending[1].resolve(2);
    await expect(third).resolves.toBe(2);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('does not keep a failed load', async () => {
    const { load, pending } = controllableLoad();
    const cache = new SingleFlightCache(60_000, load);
    const failed = cache.get();
    pending[0].reject(new Error('node down'));
    await expect(failed).rejects.toThrow('node down');
    const retried = cache.get();
    pending[1].resolve(3);
    await expect(retried).resolves.toBe(3);
  });
});

import { BoundedConcurrency, QueueFullError } from './bounded-concurrency';

/** A task that runs until released, recording how many ran at once. */
function gate() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return { release, released };
}

describe('BoundedConcurrency', () => {
  it('runs at most maxActive at once, queues maxQueued more in order, and refuses the rest', async () => {
    const limiter = new BoundedConcurrency(2, 3);
    const { release, released } = gate();
    let running = 0;
    let maxRunning = 0;
    const started: number[] = [];
    const task = (i: number) => async () => {
      started.push(i);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await released;
      running--;
      return i;
    };
    const results = Array.from({ length: 8 }, (_, i) => limiter.run(task(i)).catch((error: unknown) => error));
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1]);
    expect([limiter.active, limiter.queued]).toEqual([2, 3]);

    release();
    const settled = await Promise.all(results);
    expect(settled.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
    for (const refused of settled.slice(5)) expect(refused).toBeInstanceOf(QueueFullError);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(maxRunning).toBe(2);
    expect([limiter.active, limiter.queued]).toEqual([0, 0]);
  });

  it('frees the slot of a task that fails', async () => {
    const limiter = new BoundedConcurrency(1, 0);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });
});

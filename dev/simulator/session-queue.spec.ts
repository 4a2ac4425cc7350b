import { SessionQueue } from './session-queue';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SessionQueue', () => {
  it('lets requests for one session in one at a time, in arrival order', async () => {
    const queue = new SessionQueue();
    const order: string[] = [];
    const first = await queue.acquire('s1');
    const second = queue.acquire('s1').then((release) => (order.push('second'), release));
    const third = queue.acquire('s1').then((release) => (order.push('third'), release));
    await tick();
    expect(order).toEqual([]);
    expect(queue.depth('s1')).toBe(3);

    first();
    (await second)();
    (await third)();
    expect(order).toEqual(['second', 'third']);
    expect(queue.depth('s1')).toBe(0);
  });

  it('does not make other sessions wait', async () => {
    const queue = new SessionQueue();
    const held = await queue.acquire('s1');
    const other = await queue.acquire('s2');
    expect(queue.depth('s2')).toBe(1);
    other();
    held();
  });

  it('ignores a second release of the same turn', async () => {
    const queue = new SessionQueue();
    const first = await queue.acquire('s1');
    const waiting = queue.acquire('s1');
    first();
    first();
    const second = await waiting;
    let thirdIn = false;
    const third = queue.acquire('s1').then((release) => ((thirdIn = true), release));
    await tick();
    expect(thirdIn).toBe(false);
    second();
    (await third)();
    expect(thirdIn).toBe(true);
  });
});

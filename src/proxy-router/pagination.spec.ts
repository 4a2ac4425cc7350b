import { collectPages } from './pagination';
import { WireFormatError } from './wire-values';

const items = (n: number) => Array.from({ length: n }, (_, i) => `item-${i}`);
/** A node that pages correctly over `all`, recording each call. */
const pagedNode = (all: string[], calls: Array<[number, number]>) => async (offset: number, limit: number) => {
  calls.push([offset, limit]);
  return all.slice(offset, offset + limit);
};

describe('collectPages', () => {
  it('reads until a short page', async () => {
    const calls: Array<[number, number]> = [];
    await expect(collectPages(pagedNode(items(25), calls), (s) => s, 10)).resolves.toEqual(items(25));
    expect(calls).toEqual([
      [0, 10],
      [10, 10],
      [20, 10],
    ]);
  });

  it('reads one empty page more when the total is a multiple of the page size', async () => {
    const calls: Array<[number, number]> = [];
    await expect(collectPages(pagedNode(items(20), calls), (s) => s, 10)).resolves.toHaveLength(20);
    expect(calls).toHaveLength(3);
  });

  it('stops after the page the caller says is the last one it needs', async () => {
    const calls: Array<[number, number]> = [];
    const upToItem12 = (page: string[]) => page.includes('item-12');
    await expect(collectPages(pagedNode(items(50), calls), (s) => s, 10, undefined, upToItem12)).resolves.toEqual(items(20));
    expect(calls).toEqual([
      [0, 10],
      [10, 10],
    ]);
  });

  it('stops when a node ignoring the offset repeats itself', async () => {
    let calls = 0;
    const everything = async () => {
      calls++;
      return items(30);
    };
    await expect(collectPages(everything, (s) => s, 10)).resolves.toHaveLength(30);
    expect(calls).toBe(2);
  });

  it('gives up past maxPages', async () => {
    let n = 0;
    const endless = async (_offset: number, limit: number) => Array.from({ length: limit }, () => `x-${n++}`);
    await expect(collectPages(endless, (s) => s, 5, 3)).rejects.toBeInstanceOf(WireFormatError);
  });
});

import { WireFormatError } from './wire-values';

/**
 * Reads the pages of a listing in order: until a page comes back short, or adds nothing new
 * (a node that ignores `offset` would otherwise be read forever), or `isLast(page)` says
 * the caller has read far enough, or `maxPages` is passed.
 */
export async function collectPages<T>(
  fetchPage: (offset: number, limit: number) => Promise<T[]>,
  idOf: (item: T) => string,
  pageSize: number,
  maxPages = 1_000,
  isLast: (page: T[]) => boolean = () => false,
): Promise<T[]> {
  const seen = new Map<string, T>();
  for (let pageNo = 0; pageNo < maxPages; pageNo++) {
    const items = await fetchPage(pageNo * pageSize, pageSize);
    const before = seen.size;
    for (const item of items) if (!seen.has(idOf(item))) seen.set(idOf(item), item);
    if (items.length < pageSize || seen.size === before || isLast(items)) return [...seen.values()];
  }
  throw new WireFormatError(`listing longer than ${maxPages} pages`);
}

import { WireFormatError } from './wire-values';

/**
 * Reads every page of a listing: until a page comes back short, or adds nothing new (a
 * node that ignores `offset` would otherwise be read forever), or `maxPages` is passed.
 */
export async function collectPages<T>(
  fetchPage: (offset: number, limit: number) => Promise<T[]>,
  idOf: (item: T) => string,
  pageSize: number,
  maxPages = 1_000,
): Promise<T[]> {
  const seen = new Map<string, T>();
  for (let pageNo = 0; pageNo < maxPages; pageNo++) {
    const items = await fetchPage(pageNo * pageSize, pageSize);
    const before = seen.size;
    for (const item of items) if (!seen.has(idOf(item))) seen.set(idOf(item), item);
    if (items.length < pageSize || seen.size === before) return [...seen.values()];
  }
  throw new WireFormatError(`listing longer than ${maxPages} pages`);
}

// A bounded worker pool: at most `limit` calls of `fn` run at once, items taken in order. The one way
// src/client/ and src/peer/ run many network operations side by side (a LIST per peer, a check per file,
// a lease renewal per cap), instead of a hand-written `while (next < items.length)` loop per caller.
// The first failure stops the pool from taking more items and rejects (calls already running finish on
// their own; give them a signal to stop them).
// await forEachLimit(caps, 4, async (cap) => { reports.push(await checkFile(cap, finder)); });

/**
 * Run `fn` over `items` with at most `limit` at once. The iterator is asked for its next item only when
 * a worker is free, and each worker stops at its own `done`: an iterator that answers `done` while too
 * many calls are in flight, and items again once some of them failed, gets those items run (publishRecord
 * relies on it to place exactly `replicas` records).
 */
export async function forEachLimit<T>(items: Iterable<T>, limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  let index = 0;
  let failed = false;
  const worker = async () => {
    while (!failed) {
      const r = it.next();
      if (r.done) return;
      try {
        await fn(r.value, index++);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.floor(limit)) }, worker));
}

/** `fn` over `items`, at most `limit` at once; the results in the order of the items. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  await forEachLimit(items, Math.min(limit, items.length), async (item, i) => {
    out[i] = await fn(item, i);
  });
  return out;
}

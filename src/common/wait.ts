// A signal for one bounded wait (a close, opening a stream, an answer): it fires when the caller's signal does or
// after `ms`, and `done()` takes its timer and its listener away as soon as the wait is over.
//   await boundedBy(signal, idleMs, (s) => stream.close({ signal: s }));   // the common case
//   const wait = boundedWait(signal, idleMs);                                // when a timeout must be told apart
//   try { await op({ signal: wait.signal }); } catch (e) { if (wait.timedOut) …; throw e; } finally { wait.done(); }
// Why not AbortSignal.any([signal, AbortSignal.timeout(ms)]): the timeout's timer lives until `ms` have passed even
// when the wait ended at once, and `any` ties the result to the caller's signal until the garbage collector clears
// it. A bulk transfer makes such waits by the thousand (one per frame or request), each alive for the idle timeout
// (30 s) instead of the few ms of the wait. Here everything goes with the wait.

export interface BoundedWait {
  /** Aborted by the caller's signal (its reason) or after `ms` (a DOMException named 'TimeoutError'). */
  readonly signal: AbortSignal;
  /** The wait ran out of time (not the caller's abort). */
  readonly timedOut: boolean;
  /** The wait is over: clear the timer and stop listening to the caller's signal. Safe to call twice. */
  done(): void;
}

export function boundedWait(signal: AbortSignal | undefined, ms: number): BoundedWait {
  const ac = new AbortController();
  let timedOut = false;
  const onAbort = () => ac.abort(signal!.reason);
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort(new DOMException(`no progress within ${ms} ms`, 'TimeoutError'));
  }, ms);
  timer.unref(); // like AbortSignal.timeout: a wait never keeps the process alive
  if (signal?.aborted) ac.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  const done = () => {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  if (ac.signal.aborted) done();
  return {
    signal: ac.signal,
    get timedOut() {
      return timedOut;
    },
    done
  };
}

/** `fn` given a bounded wait's signal; the wait is done once `fn` settles. */
export async function boundedBy<T>(signal: AbortSignal | undefined, ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const wait = boundedWait(signal, ms);
  try {
    return await fn(wait.signal);
  } finally {
    wait.done();
  }
}

/**
 * `p`, or the signal's reason as soon as the signal aborts (at once if it already has), while `p` goes on for
 * whoever else waits on it: a walk, a dial or a read shared by several callers, where one giving up must not
 * stop it for the others. The listener goes as soon as either settles.
 */
export function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * A signal that aborts once every one of `signals` has (with the last one's reason), or undefined when there is
 * none. Listeners are removed when it fires.
 */
export function everyAborted(signals: readonly AbortSignal[]): AbortSignal | undefined {
  if (signals.length === 0) return undefined;
  if (signals.length === 1) return signals[0];
  const ac = new AbortController();
  let left = signals.filter((s) => !s.aborted).length;
  if (left === 0) {
    ac.abort(signals[signals.length - 1].reason);
    return ac.signal;
  }
  const onAbort = (e: Event) => {
    if (--left > 0) return;
    for (const s of signals) s.removeEventListener('abort', onAbort);
    ac.abort((e.target as AbortSignal).reason);
  };
  for (const s of signals) if (!s.aborted) s.addEventListener('abort', onAbort, { once: true });
  return ac.signal;
}

/**
 * Waits for promises added one by one, keeping a count rather than the promises: `done` resolves once `close()`
 * was called and every promise added has resolved, and rejects with the first rejection. A large file's backup
 * adds one per chunk (thousands for a few GiB); an array of them grew with the file.
 *   const all = new AllOf(); for (…) all.add(stored); all.close(); await all.done;
 */
export class AllOf {
  readonly done: Promise<void>;
  private left = 0;
  private closed = false;
  private resolve!: () => void;
  private reject!: (err: unknown) => void;
  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => {}); // one that nobody waits for (a file read again) must not be an unhandled rejection
  }

  add(p: Promise<unknown>): void {
    if (this.closed) throw new Error('AllOf: add after close');
    this.left++;
    p.then(
      () => {
        this.left--;
        this.settle();
      },
      (err) => this.reject(err)
    );
  }

  /** No more promises will be added. */
  close(): void {
    this.closed = true;
    this.settle();
  }

  private settle(): void {
    if (this.closed && this.left === 0) this.resolve();
  }
}

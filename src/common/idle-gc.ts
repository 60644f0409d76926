// Buffers that died in the old generation during a transfer are freed only by the next full collection, and an idle
// daemon allocates too little to start one. Measured after a 1 GiB backup (client daemon, 40 s idle): 125 MiB of
// dead ArrayBuffers still counted, VmRSS 309 MiB; one full collection: 4 MiB and 254 MiB. So a daemon checks every
// IDLE_GC_CHECK_MS: when ArrayBuffer memory has grown IDLE_GC_MIN_BYTES past what the last collection left and did
// not move since the last check (no transfer running), it collects once. Idle, nothing grows: no collection runs.
//   const idle = startIdleGc();   ...   idle.stop();
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const IDLE_GC_CHECK_MS = 10_000;
export const IDLE_GC_MIN_BYTES = 32 << 20;

export interface IdleGcState {
  /** ArrayBuffer bytes at the last check (-1: none yet). */
  prev: number;
  /** ArrayBuffer bytes the last collection left (or at start). */
  floor: number;
}

/** Whether to collect at a check that finds `now` ArrayBuffer bytes; updates `s`. */
export function idleGcStep(s: IdleGcState, now: number, minBytes = IDLE_GC_MIN_BYTES): boolean {
  const settled = s.prev >= 0 && Math.abs(now - s.prev) < minBytes / 4;
  s.prev = now;
  if (now < s.floor) s.floor = now; // freed by a collection of V8's own
  return settled && now - s.floor >= minBytes;
}

/** A full collection, or null if this process cannot ask for one. */
export function fullGc(): (() => void) | null {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    setFlagsFromString('--expose-gc');
    const f = runInNewContext('gc') as unknown;
    return typeof f === 'function' ? (f as () => void) : null;
  } catch {
    return null;
  }
}

export function startIdleGc(o: { checkMs?: number; minBytes?: number; onCollect?: (before: number, after: number) => void } = {}): { stop(): void } {
  const gc = fullGc();
  if (!gc) return { stop() {} };
  const arrayBuffers = () => process.memoryUsage().arrayBuffers;
  const s: IdleGcState = { prev: -1, floor: arrayBuffers() };
  const timer = setInterval(() => {
    const now = arrayBuffers();
    if (!idleGcStep(s, now, o.minBytes)) return;
    gc();
    // What the collection left (V8 frees dead buffers' memory on a background thread: the next check lowers the
    // floor further if this reads high).
    const after = arrayBuffers();
    s.floor = after;
    s.prev = after;
    o.onCollect?.(now, after);
  }, o.checkMs ?? IDLE_GC_CHECK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

// Buffers that died in the old generation during a transfer are freed only by the next full collection, and an idle
// daemon allocates too little to start one. Measured after a 1 GiB backup (client daemon, 40 s idle): 125 MiB of
// dead ArrayBuffers still counted, VmRSS 309 MiB; one full collection: 4 MiB and 254 MiB. So a daemon checks every
// IDLE_GC_CHECK_MS: when ArrayBuffer memory has grown IDLE_GC_MIN_BYTES past what the last collection left and did
// not move since the last check (no transfer running), it collects once. Idle, nothing grows: no collection runs.
// When the daemon's last running operation ends (workEnded) and its VmRSS grew WORK_GC_MIN_BYTES since the last
// collection, it does not wait for those checks: the buffer pools let go of what they keep and it collects at
// once, before the operation answers, so what comes next (a restore, or hours idle) starts from what the daemon
// needs, not from the peak of its last backup. Below that growth it waits for the idle checks: a collection
// costs the next operation its heap's regrowth too (page faults, early mark-compacts), and small operations come
// often (a watched folder's syncs). Unchanged re-backups of /usr/share back to back, collected after each: 2.34,
// 2.41, 3.69 / 2.17, 2.29, 4.31 s and 3.2-5.8 s of CPU, against 2.01, 1.85, 2.11 / 2.15, 1.92, 2.34 s and 2.6-3.3
// s uncollected; each grew VmRSS 90-125 MiB, a first /usr/share backup 190-200 and its restore 260.
// Each collection is V8's "last resort" one (what an embedder's low-memory notification runs): a full collection
// that also compacts the heap and gives its free pages back. A plain full collection frees the same objects but
// keeps the pages: after a /usr/share backup (client daemon, 5-peer loopback swarm) it left the old generation at
// 76 MiB of which 39 used and VmRSS 398 -> 353 MiB; the last-resort one 451 -> 279 MiB.
// An operation of another kind than the one before it (a restore after backups, a backup after a restore) starts
// from a collection when VmRSS grew WORK_SWITCH_GC_MIN_BYTES since the last one (workStarting): what the last
// kind of work left is not what the next needs, and the next would otherwise add its own peak on top. A
// /usr/share restore right after an unchanged re-backup (which grew VmRSS about 100 MiB: under WORK_GC_MIN_BYTES,
// so not collected when it ended) peaked at 431-433 MiB, and at 375-392 with that re-backup's memory collected
// first (`bench backup --only tree`, interleaved pairs; restore 10.5-12.1 s either way). Operations of one kind
// back to back (a watched folder's syncs) keep their heap, as above.
//   const idle = startIdleGc();   ...   idle.workStarting('restore', true);   ...   idle.workEnded();   ...   idle.stop();
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { releaseAllPools } from './buffer-pool.ts';

export const IDLE_GC_CHECK_MS = 10_000;
export const IDLE_GC_MIN_BYTES = 32 << 20;
export const WORK_GC_MIN_BYTES = 160 << 20;
export const WORK_SWITCH_GC_MIN_BYTES = 48 << 20;

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

type GcOptions = { type: 'major'; execution: 'sync'; flavor: 'last-resort' };

/** A full collection that compacts the heap and gives free pages back, or null if this process cannot ask for one. */
export function fullGc(): (() => void) | null {
  let g = (globalThis as { gc?: (o?: GcOptions) => void }).gc;
  if (typeof g !== 'function') {
    try {
      setFlagsFromString('--expose-gc');
      const f = runInNewContext('gc') as unknown;
      if (typeof f !== 'function') return null;
      g = f as (o?: GcOptions) => void;
    } catch {
      return null;
    }
  }
  const collect = g;
  return () => collect({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/** What workEnded did: collected, or why not (an operation runs, VmRSS grew too little, stopped). */
export type WorkEnded = 'collected' | 'busy' | 'small' | 'stopped';
/** What workStarting did: as WorkEnded, or 'same' (the operation before it was of this kind, or none ran yet). */
export type WorkStarting = WorkEnded | 'same';

/** Why a collection ran: buffers settled while idle, the last operation ended, one of another kind starts. */
export type Collected = 'idle' | 'work ended' | 'work starting';

export interface IdleGc {
  /**
   * An operation ended: if none is running (`busy()` false) and VmRSS grew `workMinBytes` since the last
   * collection, release the buffer pools and collect, now. Called
   * before the operation answers its caller, so the operation that left the garbage pays for its collection, not
   * the next one (run back to back, an unchanged re-backup of /usr/share took 0.35 s more, about 2.3 s against
   * 1.9, when this ran after the answer).
   */
  workEnded(): WorkEnded;
  /**
   * An operation of `kind` starts, `alone` (no other runs): when the operation before it was of another kind and
   * VmRSS grew WORK_SWITCH_GC_MIN_BYTES (`switchMinBytes`) since the last collection, release the buffer pools and
   * collect, now, before it does anything.
   */
  workStarting(kind: string, alone: boolean): WorkStarting;
  stop(): void;
}

export function startIdleGc(
  o: {
    checkMs?: number;
    minBytes?: number;
    /** VmRSS growth since the last collection that makes workEnded collect; default WORK_GC_MIN_BYTES. */
    workMinBytes?: number;
    /** VmRSS growth since the last collection that makes workStarting collect; default WORK_SWITCH_GC_MIN_BYTES. */
    switchMinBytes?: number;
    busy?: () => boolean;
    onCollect?: (before: number, after: number, why: Collected, ms: number) => void;
  } = {}
): IdleGc {
  const gc = fullGc();
  if (!gc) return { workEnded: () => 'stopped', workStarting: () => 'stopped', stop() {} };
  const arrayBuffers = () => process.memoryUsage().arrayBuffers;
  const s: IdleGcState = { prev: -1, floor: arrayBuffers() };
  /** VmRSS after the last collection (or at start). */
  let rssFloor = process.memoryUsage.rss();
  /** The kind of the last operation that started (null: none yet). */
  let lastKind: string | null = null;
  const collect = (why: Collected) => {
    const before = arrayBuffers();
    const t0 = performance.now();
    gc();
    // What the collection left (V8 frees dead buffers' memory on a background thread: the next check lowers the
    // floor further if this reads high).
    const after = arrayBuffers();
    s.floor = after;
    s.prev = after;
    rssFloor = process.memoryUsage.rss();
    o.onCollect?.(before, after, why, performance.now() - t0);
  };
  const timer = setInterval(() => {
    // Not while an operation runs: its buffers may just be between two transfers, and this collection (with its
    // heap's regrowth after it) would cost the operation a few hundred ms.
    if (o.busy?.()) {
      s.prev = -1;
      return;
    }
    if (idleGcStep(s, arrayBuffers(), o.minBytes)) collect('idle');
  }, o.checkMs ?? IDLE_GC_CHECK_MS);
  timer.unref();
  let stopped = false;
  return {
    workEnded() {
      if (stopped) return 'stopped';
      if (o.busy?.()) return 'busy';
      if (process.memoryUsage.rss() - rssFloor < (o.workMinBytes ?? WORK_GC_MIN_BYTES)) return 'small';
      releaseAllPools();
      collect('work ended');
      return 'collected';
    },
    workStarting(kind, alone) {
      if (stopped) return 'stopped';
      const before = lastKind;
      lastKind = kind;
      if (before === null || before === kind) return 'same';
      if (!alone) return 'busy';
      if (process.memoryUsage.rss() - rssFloor < (o.switchMinBytes ?? WORK_SWITCH_GC_MIN_BYTES)) return 'small';
      releaseAllPools();
      collect('work starting');
      return 'collected';
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    }
  };
}

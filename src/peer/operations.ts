// The registry of long operations (backups, restores, checks, repairs) a peer is running, wherever they
// were started: API callers, the sync engine, the health loop. Each gets an id and its own AbortController
// (linked to its caller's signal, if any), so it can be listed and cancelled by id (GET /api/operations,
// POST /api/operations/:id/cancel); its start, progress and end go to the event bus. The daemon is thus the
// source of truth for "what is it doing": a web page reloaded in the middle of a restore finds the restore
// here, with its last progress, and follows it on the event stream.
// const ops = createOperations({ emit });
// await ops.run({ kind: 'restore', origin: 'api', title: 'Restore of /docs' }, (op) => restore(…, { signal: op.signal, onProgress: op.status }));
import { randomUUID } from 'node:crypto';
import { NotFoundError, P2PBackupError } from '../common/errors.ts';
import type { OperationInfo, OperationProgress, ProgressEvent } from '../api/service.ts';

/** Finished operations kept for the list (a page reloaded just after the end still shows how it ended). */
export const FINISHED_KEPT = 20;
/** Progress events go to the bus at most this often per operation (ms): a deep check reports every file. */
export const PROGRESS_EVENT_MS = 500;

export interface OperationSpec {
  kind: OperationInfo['kind'];
  origin: OperationInfo['origin'];
  title: string;
  folder?: string;
  /** The caller's own signal (an API client that went away, the daemon stopping): cancels the operation too. */
  signal?: AbortSignal;
}

/** What a running operation is handed. */
export interface RunningOperation {
  readonly id: string;
  /** Fires when the operation is cancelled (by id, or through the caller's signal). */
  readonly signal: AbortSignal;
  /** Record progress (merged into the last; sent to the bus at most every PROGRESS_EVENT_MS). */
  progress(p: OperationProgress): void;
  /** A `…:status` event of a backup or restore (files, bytes, totals, rate, ETA) taken as progress; others ignored. */
  status(e: { type: string }): void;
}

export interface OperationsInit {
  emit: (e: ProgressEvent) => void;
  now?: () => number;
}

/** A health round that ended well: kept once, the latest. */
const isRoutine = (o: OperationInfo) => o.origin === 'health' && o.kind === 'check' && o.state === 'done';

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);

/** The counts of a backup:<op>:status event (src/backup/progress.ts), as operation progress. */
export function progressOfStatus(e: { [k: string]: unknown }): OperationProgress {
  const p: OperationProgress = {};
  for (const k of ['files', 'totalFiles', 'bytes', 'totalBytes', 'bytesPerSecond', 'etaSeconds'] as const) {
    const v = num(e[k]);
    if (v !== undefined) p[k] = v;
  }
  return p;
}

export type Operations = ReturnType<typeof createOperations>;

export function createOperations(init: OperationsInit) {
  const now = init.now ?? Date.now;
  const running = new Map<string, { info: OperationInfo; controller: AbortController; lastSent: number; timer: NodeJS.Timeout | null }>();
  const finished: OperationInfo[] = []; // newest first
  const snapshot = (info: OperationInfo): OperationInfo => ({
    ...info,
    progress: info.progress && { ...info.progress },
    ...(info.error ? { error: { ...info.error } } : {})
  });

  function sendProgress(id: string): void {
    const r = running.get(id);
    if (!r) return;
    r.timer = null;
    r.lastSent = now();
    init.emit({ type: 'operation:progress', operation: snapshot(r.info) });
  }

  return {
    /** Run `fn` as a registered operation; settles like `fn`. */
    async run<T>(spec: OperationSpec, fn: (op: RunningOperation) => Promise<T>): Promise<T> {
      const id = randomUUID();
      const controller = new AbortController();
      const info: OperationInfo = {
        id,
        kind: spec.kind,
        origin: spec.origin,
        title: spec.title,
        ...(spec.folder ? { folder: spec.folder } : {}),
        startedAt: now(),
        state: 'running',
        progress: null
      };
      const entry = { info, controller, lastSent: 0, timer: null as NodeJS.Timeout | null };
      const onCallerAbort = () => controller.abort(spec.signal!.reason);
      if (spec.signal?.aborted) controller.abort(spec.signal.reason);
      else spec.signal?.addEventListener('abort', onCallerAbort, { once: true });
      running.set(id, entry);
      init.emit({ type: 'operation:start', operation: snapshot(info) });
      const op: RunningOperation = {
        id,
        signal: controller.signal,
        progress(p) {
          if (info.state !== 'running') return;
          info.progress = { ...info.progress, ...p };
          if (entry.timer) return;
          const wait = PROGRESS_EVENT_MS - (now() - entry.lastSent);
          if (wait <= 0) sendProgress(id);
          else {
            entry.timer = setTimeout(() => sendProgress(id), wait);
            entry.timer.unref();
          }
        },
        status(e) {
          if (e.type.endsWith(':status')) op.progress(progressOfStatus(e as unknown as Record<string, unknown>));
        }
      };
      const end = (state: OperationInfo['state'], err?: unknown) => {
        spec.signal?.removeEventListener('abort', onCallerAbort);
        if (entry.timer) clearTimeout(entry.timer);
        running.delete(id);
        info.state = state;
        info.finishedAt = now();
        if (err !== undefined)
          info.error =
            err instanceof P2PBackupError
              ? { code: err.code, message: err.message }
              : { code: 'ERR_INTERNAL', message: String((err as Error)?.message ?? err) };
        // The health loop's routine rounds: only the latest is kept, so they do not push out what people did.
        if (isRoutine(info)) for (let j = finished.length - 1; j >= 0; j--) if (isRoutine(finished[j])) finished.splice(j, 1);
        finished.unshift(info);
        finished.length = Math.min(finished.length, FINISHED_KEPT);
        init.emit({ type: 'operation:end', operation: snapshot(info) });
      };
      try {
        const result = await fn(op);
        end('done');
        return result;
      } catch (err) {
        // Whatever error a cancelled operation ends with, it ended because it was cancelled.
        if (controller.signal.aborted) end('cancelled', controller.signal.reason ?? err);
        else end('failed', err);
        throw err;
      }
    },

    /** Running operations (oldest first), then the finished ones kept (newest first). */
    list(): OperationInfo[] {
      return [...[...running.values()].map((r) => snapshot(r.info)), ...finished.map(snapshot)];
    },

    get(id: string): OperationInfo | undefined {
      const r = running.get(id);
      if (r) return snapshot(r.info);
      const f = finished.find((x) => x.id === id);
      return f && snapshot(f);
    },

    /** Fire the operation's signal; it ends as "cancelled" once it has stopped. A finished one is left as it is. */
    cancel(id: string, why = 'cancelled by the user'): OperationInfo {
      const r = running.get(id);
      if (r) {
        r.controller.abort(new P2PBackupError('ERR_ABORTED', why));
        return snapshot(r.info);
      }
      const f = finished.find((x) => x.id === id);
      if (!f) throw new NotFoundError(`no operation ${id} (finished ones are kept only for the latest ${FINISHED_KEPT})`, { id });
      return snapshot(f);
    },

    /** Cancel every running operation (the peer stopping), but those started by `except` (which stops its own). */
    cancelAll(why: string, o: { except?: OperationInfo['origin'] } = {}): void {
      for (const r of running.values()) if (r.info.origin !== o.except) r.controller.abort(new P2PBackupError('ERR_ABORTED', why));
    }
  };
}

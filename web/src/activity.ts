// What the daemon is doing: its long operations (backups, restores, checks, repairs) with a progress bar,
// files and bytes done of the totals, the rate and an ETA, and a Cancel button. The daemon is the source of
// truth: the list comes from GET /api/operations (so a reloaded page finds a restore still running) and
// follows `operation:start|progress|end` events; Cancel is POST /api/operations/{id}/cancel.
import { api } from './api.ts';
import { fmtAgo, fmtBytes, fmtDuration, h } from './dom.ts';

export interface Operation {
  id: string;
  kind: 'backup' | 'restore' | 'check' | 'repair';
  origin: 'api' | 'sync' | 'health';
  title: string;
  folder?: string;
  startedAt: number;
  finishedAt?: number;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  progress: { files?: number; totalFiles?: number; bytes?: number; totalBytes?: number; bytesPerSecond?: number; etaSeconds?: number; phase?: string } | null;
  error?: { code: string; message: string };
}

const FINISHED_SHOWN = 5; // finished operations listed under the running ones
const ENDED: Record<string, string> = { done: 'done', failed: 'failed', cancelled: 'cancelled' };

/** "12 of 48 files, 3.0 MiB of 12 MiB, 1.0 MiB/s, about 9 s left". */
export function progressText(op: Operation): string {
  const p = op.progress ?? {};
  const parts: string[] = [];
  const of = (n: number | undefined, t: number | undefined, f: (x: number) => string) =>
    n === undefined ? undefined : t === undefined ? f(n) : `${f(n)} of ${f(t)}`;
  const files = of(p.files, p.totalFiles, String);
  if (files !== undefined) parts.push(`${files} ${op.kind === 'check' || op.kind === 'repair' ? 'packs' : 'files'}`);
  const bytes = of(p.bytes, p.totalBytes, fmtBytes);
  if (bytes !== undefined) parts.push(bytes);
  if (op.state === 'running') {
    if (p.bytesPerSecond) parts.push(`${fmtBytes(Math.round(p.bytesPerSecond))}/s`);
    if (p.etaSeconds !== undefined) parts.push(`about ${fmtDuration(p.etaSeconds)} left`);
    if (p.phase) parts.push(p.phase);
  }
  if (op.state !== 'running' && op.finishedAt !== undefined) parts.push(`took ${fmtDuration((op.finishedAt - op.startedAt) / 1000)}`);
  if (!parts.length) parts.push('starting');
  return parts.join(', ');
}

/** The bar's value and maximum: by bytes where there are any, else by files; none while the totals are unknown. */
function barOf(op: Operation): { value: number; max: number } | null {
  const p = op.progress ?? {};
  if (op.state === 'done') return { value: 1, max: 1 };
  if (p.totalBytes && p.bytes !== undefined) return { value: Math.min(p.bytes, p.totalBytes), max: p.totalBytes };
  if (p.totalFiles && p.files !== undefined) return { value: Math.min(p.files, p.totalFiles), max: p.totalFiles };
  return null;
}

export interface Activity {
  element: HTMLElement;
  load(): Promise<void>;
  onEvent(e: { type: string; [k: string]: unknown }): void;
}

export function createActivity(onError: (err: unknown) => void): Activity {
  const ops = new Map<string, Operation>();
  const list = h('ul', { class: 'ops', 'aria-label': 'Operations' });
  const empty = h('p', { class: 'empty' }, 'Nothing running.');
  // Announced once per start and end, not at every progress line.
  const announce = h('p', { class: 'sr', 'aria-live': 'polite' });
  const element = h('section', { 'aria-labelledby': 'activity-h' }, h('h2', { id: 'activity-h' }, 'Activity'), list, empty, announce);

  function row(op: Operation): HTMLElement {
    const bar = barOf(op);
    const progress = h('progress', { 'aria-label': `Progress of ${op.title}`, ...(bar ? { max: bar.max, value: bar.value } : {}) });
    const li = h(
      'li',
      { 'data-op': op.id, 'data-op-kind': op.kind, 'data-op-state': op.state, class: `op op-${op.state}` },
      h(
        'div',
        { class: 'op-head' },
        h('span', { class: 'op-title' }, op.title),
        h(
          'span',
          { class: `badge op-state-${op.state}` },
          op.state === 'running'
            ? `running for ${fmtDuration((Date.now() - op.startedAt) / 1000)}`
            : `${ENDED[op.state]} ${fmtAgo(op.finishedAt ?? Date.now())}`
        )
      ),
      op.state === 'running' || op.state === 'done' ? progress : '',
      h('div', { class: 'op-text status' }, progressText(op)),
      op.error && op.state === 'failed' ? h('div', { class: 'op-error' }, `${op.error.message} (${op.error.code})`) : ''
    );
    if (op.state === 'running') {
      const cancel = h('button', { type: 'button', class: 'secondary', 'aria-label': `Cancel ${op.title}` }, 'Cancel') as HTMLButtonElement;
      cancel.addEventListener('click', async () => {
        cancel.disabled = true;
        cancel.textContent = 'Cancelling…';
        try {
          await api(`/api/operations/${encodeURIComponent(op.id)}/cancel`, { method: 'POST' });
        } catch (err) {
          cancel.disabled = false;
          cancel.textContent = 'Cancel';
          onError(err);
        }
      });
      li.querySelector('.op-head')!.append(cancel);
    }
    return li;
  }

  /** Running first (oldest first), then the latest finished, the health loop's routine rounds left out. */
  function render(): void {
    const all = [...ops.values()];
    const running = all.filter((o) => o.state === 'running').sort((a, b) => a.startedAt - b.startedAt);
    const finished = all
      .filter((o) => o.state !== 'running' && !(o.origin === 'health' && o.kind === 'check' && o.state === 'done'))
      .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0))
      .slice(0, FINISHED_SHOWN);
    const shown = [...running, ...finished];
    // Update rows in place where they exist, and move only those out of place: a row replaced or moved
    // under the keyboard focus would lose it.
    const rows = shown.map((op) => {
      const old = list.querySelector(`[data-op="${CSS.escape(op.id)}"]`) as HTMLElement | null;
      if (old && old.dataset.opState === op.state) {
        update(old, op);
        return old;
      }
      old?.remove();
      return row(op);
    });
    for (const li of [...list.children]) if (!rows.includes(li as HTMLElement)) li.remove();
    rows.forEach((li, i) => {
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
    });
    empty.hidden = shown.length > 0;
  }

  function update(li: HTMLElement, op: Operation): void {
    const bar = barOf(op);
    const progress = li.querySelector('progress');
    if (progress && bar) {
      progress.max = bar.max;
      progress.value = bar.value;
    }
    li.querySelector('.op-text')!.textContent = progressText(op);
    const badge = li.querySelector('.op-head .badge');
    if (badge && op.state === 'running') badge.textContent = `running for ${fmtDuration((Date.now() - op.startedAt) / 1000)}`;
  }

  return {
    element,
    async load() {
      try {
        const r = await api<{ operations: Operation[] }>('/api/operations');
        ops.clear();
        for (const op of r.operations) ops.set(op.id, op);
        render();
      } catch (err) {
        onError(err);
      }
    },
    onEvent(e) {
      if (!e.type.startsWith('operation:')) return;
      const op = e.operation as Operation;
      ops.set(op.id, op);
      // Forget what no longer shows (the daemon keeps its own list; this one only has to draw).
      if (ops.size > 100) for (const [id, o] of ops) if (o.state !== 'running' && ops.size > 50) ops.delete(id);
      if (e.type === 'operation:start' && op.origin !== 'health') announce.textContent = `Started: ${op.title}.`;
      if (e.type === 'operation:end' && !(op.origin === 'health' && op.kind === 'check')) announce.textContent = `${op.title}: ${ENDED[op.state]}.`;
      render();
    }
  };
}

// The snapshot browser: a folder's snapshots (a root cap) or one snapshot or directory (a read cap),
// directories opened one level at a time, one file downloaded (fetch + blob URL: the token stays in a
// header), a snapshot or a path restored into a local directory. A restore runs detached: it goes on if
// the page is reloaded or closed, shows in the Activity list, and is cancelled from there.
import { api, downloadBlob } from './api.ts';
import { clear, fmtBytes, fmtDuration, fmtTime, h } from './dom.ts';

interface Entry {
  name: string;
  type: 'file' | 'dir' | 'symlink';
  size?: number;
  mtimeNs: string;
  target?: string;
}
export interface Browse {
  cap: string;
  title: string;
  readOnly: boolean;
}

const KIB = 1024;

export async function browseView(
  panel: HTMLElement,
  b: Browse,
  explain: (err: unknown) => string,
  button: (label: string, onClick: () => unknown, aria?: string) => HTMLButtonElement
): Promise<void> {
  clear(panel);
  const section = h('section', { 'aria-labelledby': 'browse-h' }, h('h2', { id: 'browse-h' }, `Browse: ${b.title}`));
  if (b.readOnly) section.append(h('p', { class: 'badge' }, 'read-only: opened with a read cap'));
  panel.append(section);
  let snapCap = b.cap;
  // A root cap (p2pb:mr:) has snapshots to choose from; a snapshot or directory cap is browsed as is.
  if (/^p2pb:m[rw]:/i.test(b.cap)) {
    let snaps: { cap: string; time: number }[];
    try {
      snaps = (await api<{ snapshots: { cap: string; time: number }[] }>(`/api/snapshots?${new URLSearchParams({ of: b.cap })}`)).snapshots;
    } catch (err) {
      section.append(h('p', { class: 'empty' }, explain(err)));
      return;
    }
    if (!snaps.length) {
      section.append(h('p', { class: 'empty' }, 'No snapshot yet: the first backup has not finished.'));
      return;
    }
    const select = h(
      'select',
      { id: 'snapshot' },
      ...snaps
        .slice()
        .reverse()
        .map((s) => h('option', { value: s.cap }, fmtTime(s.time)))
    ) as HTMLSelectElement;
    section.append(h('form', { 'aria-label': 'Choose a snapshot' }, h('label', {}, 'Snapshot', select)));
    snapCap = select.value;
    select.addEventListener('change', () => {
      snapCap = select.value;
      void listDir('');
    });
  }
  const crumbs = h('nav', { 'aria-label': 'Path' });
  const listing = h('div', {});
  const progress = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const target = h('input', { type: 'text', id: 'restore-target', placeholder: '/tmp/restored' }) as HTMLInputElement;
  const limit = h('input', { type: 'number', id: 'restore-limit', min: 1, step: 1, inputmode: 'numeric', placeholder: 'no limit' }) as HTMLInputElement;
  const restoreForm = h(
    'form',
    { 'aria-label': 'Restore' },
    h('label', {}, 'Restore to path', target),
    h('label', {}, 'Speed limit (KiB/s, optional)', limit),
    h('button', { type: 'submit' }, 'Restore snapshot')
  );
  restoreForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void restore(undefined);
  });
  section.append(crumbs, listing, restoreForm, progress);

  async function restore(path: string | undefined): Promise<void> {
    const to = target.value.trim();
    if (!to) {
      progress.textContent = 'Give a path to restore to first (Restore to path).';
      target.focus();
      return;
    }
    const kib = limit.value.trim() ? Number(limit.value) : undefined;
    if (kib !== undefined && !(Number.isInteger(kib) && kib >= 1)) {
      progress.textContent = 'The speed limit is a whole number of KiB per second (or nothing, for no limit).';
      limit.focus();
      return;
    }
    progress.textContent = 'Restoring… (follow it, or cancel it, under Activity)';
    try {
      // Detached: the daemon carries on if this page goes away; the Activity list finds it again.
      const r = await api<{ stats: { files: number; bytesWritten: number; failed?: unknown[] } }>('/api/restore', {
        method: 'POST',
        json: { cap: snapCap, target: to, path, detach: true, ...(kib ? { limitBytesPerSecond: kib * KIB } : {}) },
        ndjson: (e) => {
          if (e.type !== 'backup:restore:status') return;
          const s = e as unknown as { files: number; bytes: number; totalFiles?: number; totalBytes?: number; etaSeconds?: number };
          const of = (n: number, t?: number, f: (x: number) => string = String) => (t === undefined ? f(n) : `${f(n)} of ${f(t)}`);
          progress.textContent = `Restoring… ${of(s.files, s.totalFiles)} files, ${of(s.bytes, s.totalBytes, fmtBytes)}${s.etaSeconds !== undefined ? `, about ${fmtDuration(s.etaSeconds)} left` : ''}`;
        }
      });
      progress.textContent = `Restored ${r.stats.files} files (${fmtBytes(r.stats.bytesWritten)}) into ${to}${r.stats.failed?.length ? `; ${r.stats.failed.length} failed` : ''}.`;
    } catch (err) {
      progress.textContent = explain(err);
    }
  }

  async function listDir(path: string): Promise<void> {
    clear(listing);
    clear(crumbs);
    const parts = path.split('/').filter(Boolean);
    crumbs.append(button('/', () => void listDir(''), 'Top of the snapshot'));
    parts.forEach((p, i) =>
      crumbs.append(
        ' / ',
        button(p, () => void listDir(parts.slice(0, i + 1).join('/')))
      )
    );
    let entries: Entry[];
    try {
      entries = (await api<{ entries: Entry[] }>(`/api/ls?${new URLSearchParams({ cap: snapCap, path })}`)).entries;
    } catch (err) {
      listing.append(h('p', { class: 'empty' }, explain(err)));
      return;
    }
    if (!entries.length) {
      listing.append(h('p', { class: 'empty' }, 'This directory is empty.'));
      return;
    }
    const body = h('tbody', {});
    for (const e of entries) {
      const full = path ? `${path}/${e.name}` : e.name;
      body.append(
        h(
          'tr',
          {},
          h(
            'td',
            { 'data-label': 'Name' },
            e.type === 'dir'
              ? button(`${e.name}/`, () => void listDir(full), `Open ${e.name}`)
              : h('span', { class: 'mono' }, e.name + (e.target ? ` → ${e.target}` : ''))
          ),
          h('td', { 'data-label': 'Size' }, e.type === 'file' ? fmtBytes(e.size ?? 0) : e.type),
          h('td', { 'data-label': 'Modified' }, fmtTime(Number(BigInt(e.mtimeNs) / 1_000_000n))),
          h(
            'td',
            { 'data-label': 'Actions' },
            e.type === 'file' ? button('Download', () => void download(full, e.name), `Download ${e.name}`) : '',
            ' ',
            button('Restore', () => void restore(full), `Restore ${e.name}`)
          )
        )
      );
    }
    listing.append(
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { 'aria-label': 'Files', class: 'stack' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Size'), h('th', {}, 'Modified'), h('th', {}, h('span', { class: 'sr' }, 'Actions')))),
          body
        )
      )
    );
  }

  async function download(path: string, name: string): Promise<void> {
    progress.textContent = `Downloading ${name}…`;
    try {
      const res = await api<Response>(`/api/snapshot-file?${new URLSearchParams({ cap: snapCap, path })}`, { raw: true });
      downloadBlob(await res.blob(), name);
      progress.textContent = `Downloaded ${name}.`;
    } catch (err) {
      progress.textContent = explain(err);
    }
  }

  await listDir('');
}

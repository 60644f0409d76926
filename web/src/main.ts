// The web UI: plain DOM, no framework, no network beyond this daemon. The API token lives in
// sessionStorage only (gone when the tab closes). Screens: sign-in; the dashboard (swarm, space,
// balance), folders with live state (from the SSE stream, read with fetch so the token stays in a
// header), add a folder, a root cap with its QR code; a browser of snapshots and files (restore to a
// path, download one file); a read cap opened in read-only mode.
import { api, ApiError, downloadBlob, events, setToken, token } from './api.ts';
import { h, fmtBytes, fmtTime, clear } from './dom.ts';

interface Folder { id: string; path: string; rootCap: string; watch: boolean; state: string; lastSnapshot: { cap: string; time: number } | null; lastError: string | null; pending: number }
interface Entry { name: string; type: 'file' | 'dir' | 'symlink'; size?: number; mtimeNs: string; target?: string }
interface Status { peerId: string; peersConnected: number; storage: { offered: number; used: number; shares: number }; readOnly?: boolean; encoding: { k: number; n: number; happy: number } }

const app = document.getElementById('app')!;
const notice = document.getElementById('notice')!;
const modeBadge = document.getElementById('mode')!;
const signout = document.getElementById('signout') as HTMLButtonElement;

/** What the user should read for an error code: the clear empty states and errors the UI owes them. */
function explain(err: unknown): string {
  if (!(err instanceof ApiError)) return `Something went wrong: ${(err as Error)?.message ?? err}`;
  const c = err.code;
  if (c === 'ERR_UNAUTHORIZED') return 'Wrong or missing token. Copy it from HOME/api-token on the machine running the daemon.';
  if (c === 'ERR_NO_PEERS') return 'No storage peers are reachable: start peers or check the bootstrap addresses.';
  if (c === 'ERR_NOT_ENOUGH_SHARES') return `Too few shares found: ${err.message}. Some holders are offline; try again when more peers are back.`;
  if (c === 'ERR_NOT_HAPPY') return `Not enough distinct peers to place the shares: ${err.message}`;
  if (c.startsWith('ERR_CAP_')) return `That is not a valid cap (${err.message}). Check that it was copied whole.`;
  if (c === 'ERR_PATH_NOT_ALLOWED') return `That path is outside the directories this daemon may use: ${err.message}`;
  if (c === 'ERR_READ_ONLY') return 'This daemon is a read-only light node: it cannot add or back up folders.';
  return `${err.message} (${c})`;
}
function showError(err: unknown): void {
  notice.textContent = explain(err);
}
function clearError(): void {
  notice.textContent = '';
}

// ---- sign-in ----------------------------------------------------------------------------------------
function signInScreen(message = ''): void {
  clear(app);
  modeBadge.hidden = true;
  signout.hidden = true;
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'current-password', required: true }) as HTMLInputElement;
  const form = h('form', { 'aria-label': 'Sign in' },
    h('label', {}, 'API token', input),
    h('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setToken(input.value.trim());
    try {
      await api('/api/status');
      clearError();
      void home();
    } catch (err) {
      setToken(null);
      showError(err);
    }
  });
  app.append(h('section', {},
    h('h2', {}, 'Sign in'),
    h('p', {}, 'Paste the token from HOME/api-token (`cat ~/.local/share/p2pbackup/api-token`). It is kept for this tab only.'),
    message ? h('p', { class: 'status' }, message) : '',
    form));
  input.focus();
}

// ---- home: dashboard, folders, read cap ---------------------------------------------------------------
let folderRows = new Map<string, HTMLElement>();
let stopEvents: (() => void) | null = null;

async function home(): Promise<void> {
  clear(app);
  signout.hidden = false;
  let status: Status;
  try {
    status = await api<Status>('/api/status');
  } catch (err) {
    if (err instanceof ApiError && err.code === 'ERR_UNAUTHORIZED') return signInScreen();
    return showError(err);
  }
  const readOnly = status.readOnly === true;
  modeBadge.hidden = false;
  modeBadge.textContent = readOnly ? 'read-only light node' : 'owner';

  const dash = h('section', { 'aria-labelledby': 'dash-h' }, h('h2', { id: 'dash-h' }, 'Swarm'));
  const balance = h('dd', {}, '…');
  dash.append(h('dl', {},
    h('dt', {}, 'Peer'), h('dd', { class: 'mono' }, status.peerId),
    h('dt', {}, 'Peers connected'), h('dd', { id: 'peers-connected' }, String(status.peersConnected)),
    h('dt', {}, 'Space offered'), h('dd', {}, readOnly ? 'none (read-only)' : fmtBytes(status.storage.offered)),
    h('dt', {}, 'Space used by others'), h('dd', {}, `${fmtBytes(status.storage.used)} in ${status.storage.shares} shares`),
    h('dt', {}, 'Encoding'), h('dd', {}, `${status.encoding.k}-of-${status.encoding.n}, on at least ${status.encoding.happy} peers`),
    h('dt', {}, 'Balance'), balance));
  if (status.peersConnected === 0) dash.append(h('p', { class: 'warning' }, 'No peers connected: backups and downloads wait until the daemon reaches the swarm.'));
  // Fairness balances come from another service; absent, say so rather than show a number we lack.
  api<{ balance?: number; net?: number }>('/api/fairness').then(
    (f) => { balance.textContent = fmtBytes(Number(f.balance ?? f.net ?? 0)); },
    () => { balance.textContent = 'not available on this daemon'; });

  const foldersSection = h('section', { 'aria-labelledby': 'folders-h' }, h('h2', { id: 'folders-h' }, 'Folders'));
  const list = h('div', {});
  foldersSection.append(list);
  if (!readOnly) foldersSection.append(addFolderForm(() => void renderFolders(list)));
  else foldersSection.append(h('p', { class: 'empty' }, 'A read-only light node backs up nothing: open a read cap below.'));

  const capSection = h('section', { 'aria-labelledby': 'cap-h' }, h('h2', { id: 'cap-h' }, 'Open a read cap'));
  const capInput = h('input', { type: 'text', id: 'readcap', spellcheck: 'false', autocomplete: 'off' }) as HTMLInputElement;
  const capForm = h('form', { 'aria-label': 'Open a read cap' }, h('label', {}, 'Read cap', capInput), h('button', { type: 'submit' }, 'Open'));
  capForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const cap = capInput.value.trim();
    if (cap) void openBrowser({ cap, title: 'Read cap (read-only)', readOnly: true });
  });
  capSection.append(h('p', {}, 'Browse and download with a cap alone: no write authority is used or needed.'), capForm);

  app.append(dash, foldersSection, capSection, h('div', { id: 'panel' }));
  await renderFolders(list);
  stopEvents?.();
  stopEvents = events((e) => onEvent(e, list), (err) => { if (err instanceof ApiError && err.code === 'ERR_UNAUTHORIZED') signInScreen('Signed out.'); });
}

function addFolderForm(done: () => void): HTMLElement {
  const path = h('input', { type: 'text', id: 'folder-path', placeholder: '/home/me/Documents', required: true }) as HTMLInputElement;
  const watch = h('input', { type: 'checkbox', checked: true }) as HTMLInputElement;
  const form = h('form', { 'aria-label': 'Add a folder' },
    h('label', {}, 'Folder path', path),
    h('label', { class: 'inline' }, watch, 'Watch for changes'),
    h('button', { type: 'submit' }, 'Add folder'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('/api/folders', { method: 'POST', json: { path: path.value.trim(), watch: watch.checked } });
      path.value = '';
      clearError();
      done();
    } catch (err) {
      showError(err);
    }
  });
  return form;
}

async function renderFolders(list: HTMLElement): Promise<void> {
  let folders: Folder[];
  try {
    folders = (await api<{ folders: Folder[] }>('/api/folders')).folders;
  } catch (err) {
    return showError(err);
  }
  clear(list);
  folderRows = new Map();
  if (!folders.length) {
    list.append(h('p', { class: 'empty' }, 'No folders yet. Add one by its path below; it is backed up at once and watched for changes.'));
    return;
  }
  const body = h('tbody', {});
  for (const f of folders) {
    const state = h('span', { class: `badge state-${f.state}`, 'data-state': f.state }, stateLabel(f.state));
    const row = h('tr', { 'data-folder': f.id },
      h('td', { class: 'mono' }, f.path),
      h('td', {}, state, f.lastError ? h('div', { class: 'status' }, f.lastError) : ''),
      h('td', {}, f.lastSnapshot ? fmtTime(f.lastSnapshot.time) : 'never'),
      h('td', {},
        button('Browse', () => void openBrowser({ cap: f.rootCap, title: f.path, readOnly: false }), `Browse ${f.path}`), ' ',
        button('Root cap', () => showCap(f), `Root cap of ${f.path}`)));
    folderRows.set(f.id, row);
    body.append(row);
  }
  list.append(h('table', { 'aria-label': 'Folders' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Path'), h('th', {}, 'State'), h('th', {}, 'Last snapshot'), h('th', {}, h('span', { class: 'sr' }, 'Actions')))),
    body));
}

function stateLabel(s: string): string {
  return ({ 'in-sync': 'in sync', scanning: 'scanning', uploading: 'uploading', committing: 'uploading', interrupted: 'interrupted', error: 'error' } as Record<string, string>)[s] ?? s;
}

function onEvent(e: { type: string; [k: string]: unknown }, list: HTMLElement): void {
  if (e.type === 'sync:folder:state') {
    const row = folderRows.get(e.id as string);
    const badge = row?.querySelector('[data-state]');
    if (!badge) return void renderFolders(list);
    badge.textContent = stateLabel(e.state as string);
    badge.className = `badge state-${e.state}`;
    badge.setAttribute('data-state', e.state as string);
    if (e.state === 'in-sync' || e.state === 'error') void renderFolders(list);
  } else if (e.type === 'sync:folder:snapshot') {
    void renderFolders(list);
  } else if (e.type === 'peer:connect' || e.type === 'peer:disconnect') {
    const el = document.getElementById('peers-connected');
    if (el) el.textContent = String(Math.max(0, Number(el.textContent) + (e.type === 'peer:connect' ? 1 : -1)));
  }
}

// ---- root cap and QR ------------------------------------------------------------------------------
async function showCap(f: Folder): Promise<void> {
  const panel = document.getElementById('panel')!;
  clear(panel);
  const text = h('textarea', { id: 'rootcap', readonly: true, rows: 3 }, f.rootCap) as HTMLTextAreaElement;
  const copied = h('span', { class: 'status', role: 'status' });
  const img = h('img', { alt: `QR code of the root cap of ${f.path}` }) as HTMLImageElement;
  const dialog = h('section', { role: 'dialog', 'aria-labelledby': 'cap-title', 'aria-modal': 'false' },
    h('h2', { id: 'cap-title' }, `Root cap of ${f.path}`),
    h('p', { class: 'warning' }, 'Warning: this cap grants read access to every snapshot of this folder, on any device in the swarm. Share it only with people and devices you trust; it cannot be revoked.'),
    h('label', {}, 'Root cap', text),
    h('p', {}, button('Copy', async () => {
      try {
        await navigator.clipboard.writeText(f.rootCap);
        copied.textContent = 'Copied.';
      } catch {
        text.select();
        copied.textContent = 'Select the text and copy it (the clipboard is not available here).';
      }
    }), ' ', copied),
    h('div', { class: 'qr' }, img),
    button('Close', () => clear(panel)));
  panel.append(dialog);
  try {
    const res = await api<Response>(`/api/caps/qr?${new URLSearchParams({ cap: f.rootCap, format: 'svg' })}`, { raw: true });
    img.src = URL.createObjectURL(await res.blob());
  } catch (err) {
    showError(err);
  }
}

// ---- snapshot browser -----------------------------------------------------------------------------
interface Browse { cap: string; title: string; readOnly: boolean }

async function openBrowser(b: Browse): Promise<void> {
  clearError();
  const panel = document.getElementById('panel')!;
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
    const select = h('select', { id: 'snapshot' }, ...snaps.slice().reverse().map((s) => h('option', { value: s.cap }, fmtTime(s.time)))) as HTMLSelectElement;
    section.append(h('form', { 'aria-label': 'Choose a snapshot' }, h('label', {}, 'Snapshot', select)));
    snapCap = select.value;
    select.addEventListener('change', () => { snapCap = select.value; void listDir(''); });
  }
  const crumbs = h('nav', { 'aria-label': 'Path' });
  const listing = h('div', {});
  const progress = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const target = h('input', { type: 'text', id: 'restore-target', placeholder: '/tmp/restored' }) as HTMLInputElement;
  const restoreForm = h('form', { 'aria-label': 'Restore' },
    h('label', {}, 'Restore to path', target),
    h('button', { type: 'submit' }, 'Restore snapshot'));
  restoreForm.addEventListener('submit', (ev) => { ev.preventDefault(); void restore(undefined); });
  section.append(crumbs, listing, restoreForm, progress);

  async function restore(path: string | undefined): Promise<void> {
    const to = target.value.trim();
    if (!to) {
      progress.textContent = 'Give a path to restore to first (Restore to path).';
      target.focus();
      return;
    }
    progress.textContent = 'Restoring…';
    try {
      const r = await api<{ stats: { files: number; bytesWritten: number; failed?: unknown[] } }>('/api/restore', {
        method: 'POST', json: { cap: snapCap, target: to, path }, ndjson: (e) => {
          if (e.type !== 'backup:restore:status') return;
          const s = e as unknown as { files: number; bytes: number; totalFiles?: number; totalBytes?: number; etaSeconds?: number };
          const of = (n: number, t?: number, f: (x: number) => string = String) => (t === undefined ? f(n) : `${f(n)} of ${f(t)}`);
          progress.textContent = `Restoring… ${of(s.files, s.totalFiles)} files, ${of(s.bytes, s.totalBytes, fmtBytes)}${s.etaSeconds !== undefined ? `, about ${Math.ceil(s.etaSeconds)} s left` : ''}`;
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
    parts.forEach((p, i) => crumbs.append(' / ', button(p, () => void listDir(parts.slice(0, i + 1).join('/')))));
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
      body.append(h('tr', {},
        h('td', {}, e.type === 'dir' ? button(`${e.name}/`, () => void listDir(full), `Open ${e.name}`) : h('span', { class: 'mono' }, e.name + (e.target ? ` → ${e.target}` : ''))),
        h('td', {}, e.type === 'file' ? fmtBytes(e.size ?? 0) : e.type),
        h('td', {}, fmtTime(Number(BigInt(e.mtimeNs) / 1_000_000n))),
        h('td', {},
          e.type === 'file' ? button('Download', () => void download(full, e.name), `Download ${e.name}`) : '', ' ',
          button('Restore', () => void restore(full), `Restore ${e.name}`))));
    }
    listing.append(h('table', { 'aria-label': 'Files' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Size'), h('th', {}, 'Modified'), h('th', {}, h('span', { class: 'sr' }, 'Actions')))),
      body));
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

function button(label: string, onClick: () => unknown, ariaLabel?: string): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'secondary', ...(ariaLabel ? { 'aria-label': ariaLabel } : {}) }, label) as HTMLButtonElement;
  b.addEventListener('click', () => { void onClick(); });
  return b;
}

signout.addEventListener('click', () => {
  stopEvents?.();
  stopEvents = null;
  setToken(null);
  signInScreen('Signed out.');
});

if (token()) void home();
else signInScreen();

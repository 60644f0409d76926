// The web UI: plain DOM, no framework, no network beyond this daemon. The API token lives in
// sessionStorage only (gone when the tab closes). Screens: sign-in; the dashboard: the swarm (space,
// peers, balance), Activity (running operations with progress, cancellable: activity.ts), folders with
// their live sync state and their safety (safety.ts), peers (peers.ts), a read cap to open; in the panel
// below: a folder's history (history.ts), the snapshot browser (browse.ts), a root cap with its QR code.
// Live updates come from the SSE stream (read with fetch so the token stays in a header).
import { api, ApiError, events, setToken, token } from './api.ts';
import { h, fmtBytes, fmtTime, clear } from './dom.ts';
import { createActivity, type Activity } from './activity.ts';
import { safetyView, type FolderHealth } from './safety.ts';
import { createPeers, type PeersView } from './peers.ts';
import { historyView } from './history.ts';
import { browseView, type Browse } from './browse.ts';

interface Folder {
  id: string;
  path: string;
  rootCap: string;
  watch: boolean;
  state: string;
  lastSnapshot: { cap: string; time: number } | null;
  lastError: string | null;
  pending: number;
}
interface Status {
  peerId: string;
  peersConnected: number;
  storage: { offered: number; used: number; shares: number };
  readOnly?: boolean;
  encoding: { k: number; n: number; happy: number };
}

const PEERS_REFRESH_MS = 15_000; // the peers table's own refresh (uptime, audits); peer events refresh it sooner
const PEER_EVENT_DEBOUNCE_MS = 1_000;

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
  if (c === 'ERR_ABORTED') return 'Cancelled.';
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
  stopLive();
  clear(app);
  modeBadge.hidden = true;
  signout.hidden = true;
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'current-password', required: true }) as HTMLInputElement;
  const form = h('form', { 'aria-label': 'Sign in' }, h('label', {}, 'API token', input), h('button', { type: 'submit' }, 'Sign in'));
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
  app.append(
    h(
      'section',
      {},
      h('h2', {}, 'Sign in'),
      h('p', {}, 'Paste the token from HOME/api-token (`cat ~/.local/share/p2pbackup/api-token`). It is kept for this tab only.'),
      message ? h('p', { class: 'status' }, message) : '',
      form
    )
  );
  input.focus();
}

// ---- home: swarm, activity, folders, peers, read cap ------------------------------------------------------
let folderRows = new Map<string, HTMLElement>();
let health = new Map<string, FolderHealth>(); // by folder path
let healthRunning = false;
let stopEvents: (() => void) | null = null;
let peersTimer: number | null = null;

function stopLive(): void {
  stopEvents?.();
  stopEvents = null;
  if (peersTimer !== null) clearInterval(peersTimer);
  peersTimer = null;
}

async function home(): Promise<void> {
  stopLive();
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

  const activity = createActivity(showError);
  const peers = createPeers((n) => {
    const el = document.getElementById('peers-connected');
    if (el) el.textContent = String(n);
  });
  const dash = h('section', { 'aria-labelledby': 'dash-h' }, h('h2', { id: 'dash-h' }, 'Swarm'));
  dash.append(
    h(
      'dl',
      {},
      h('dt', {}, 'Peer'),
      h('dd', { class: 'mono' }, status.peerId),
      h('dt', {}, 'Peers connected'),
      h('dd', { id: 'peers-connected' }, String(status.peersConnected)),
      h('dt', {}, 'Space offered'),
      h('dd', {}, readOnly ? 'none (read-only)' : fmtBytes(status.storage.offered)),
      h('dt', {}, 'Space used by others'),
      h('dd', {}, `${fmtBytes(status.storage.used)} in ${status.storage.shares} shares`),
      h('dt', {}, 'Swarm space'),
      h('dd', { id: 'swarm-space' }, peers.totals),
      h('dt', {}, 'Encoding'),
      h('dd', {}, `${status.encoding.k}-of-${status.encoding.n}, on at least ${status.encoding.happy} peers`),
      h('dt', {}, 'Balance'),
      h('dd', {}, peers.balance)
    )
  );
  if (status.peersConnected === 0)
    dash.append(h('p', { class: 'warning' }, 'No peers connected: backups and downloads wait until the daemon reaches the swarm.'));

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

  app.append(dash, activity.element, foldersSection, peers.element, capSection, h('div', { id: 'panel' }));
  await loadHealth();
  await Promise.all([renderFolders(list), activity.load(), peers.refresh()]);
  let peerEvent: number | null = null;
  peersTimer = window.setInterval(() => void peers.refresh(), PEERS_REFRESH_MS);
  stopEvents = events(
    (e) =>
      onEvent(e, list, activity, () => {
        if (peerEvent === null)
          peerEvent = window.setTimeout(() => {
            peerEvent = null;
            void peers.refresh();
          }, PEER_EVENT_DEBOUNCE_MS);
      }),
    (err) => {
      if (err instanceof ApiError && err.code === 'ERR_UNAUTHORIZED') signInScreen('Signed out.');
    },
    () => {
      // (Re)connected: what happened while the stream was down is read afresh.
      void activity.load();
      void loadHealth().then(() => refreshSafety());
    }
  );
}

/** The health loop's view of every folder (absent on a peer that does not run it). */
async function loadHealth(): Promise<void> {
  try {
    const s = await api<{ folders?: FolderHealth[] }>('/api/health/state');
    healthRunning = true;
    health = new Map((s.folders ?? []).map((f) => [f.folder, f]));
  } catch {
    healthRunning = false;
  }
}

function addFolderForm(done: () => void): HTMLElement {
  const path = h('input', { type: 'text', id: 'folder-path', placeholder: '/home/me/Documents', required: true }) as HTMLInputElement;
  const watch = h('input', { type: 'checkbox', checked: true }) as HTMLInputElement;
  const form = h(
    'form',
    { 'aria-label': 'Add a folder' },
    h('label', {}, 'Folder path', path),
    h('label', { class: 'inline' }, watch, 'Watch for changes'),
    h('button', { type: 'submit' }, 'Add folder')
  );
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

function safetyCell(path: string): HTMLElement {
  if (!healthRunning) return h('span', { class: 'empty', 'data-health': 'none' }, 'The health loop does not run on this daemon.');
  return safetyView(health.get(path));
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
    const row = h(
      'tr',
      { 'data-folder': f.id, 'data-path': f.path },
      h('th', { scope: 'row', class: 'mono' }, f.path),
      h('td', { 'data-label': 'State' }, state, f.lastError ? h('div', { class: 'status' }, f.lastError) : ''),
      h('td', { 'data-label': 'Safety', class: 'safety-cell' }, safetyCell(f.path)),
      h('td', { 'data-label': 'Last snapshot' }, f.lastSnapshot ? fmtTime(f.lastSnapshot.time) : 'never'),
      h(
        'td',
        { 'data-label': 'Actions', class: 'actions' },
        button('Browse', () => void openBrowser({ cap: f.rootCap, title: f.path, readOnly: false }), `Browse ${f.path}`),
        ' ',
        button('History', () => void historyView(document.getElementById('panel')!, f, explain), `History of ${f.path}`),
        ' ',
        button('Back up now', () => void backupNow(f), `Back up now: ${f.path}`),
        ' ',
        button('Root cap', () => showCap(f), `Root cap of ${f.path}`)
      )
    );
    folderRows.set(f.id, row);
    body.append(row);
  }
  list.append(
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { 'aria-label': 'Folders', class: 'stack' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Path'),
            h('th', { scope: 'col' }, 'State'),
            h('th', { scope: 'col' }, 'Safety'),
            h('th', { scope: 'col' }, 'Last snapshot'),
            h('th', { scope: 'col' }, h('span', { class: 'sr' }, 'Actions'))
          )
        ),
        body
      )
    )
  );
}

/** Redraw the safety cells from `health` (after a `health:folders` event), keeping any open disclosure open. */
function refreshSafety(): void {
  for (const row of folderRows.values()) {
    const cell = row.querySelector('.safety-cell');
    if (!cell) continue;
    const open = cell.querySelector('details')?.open === true;
    const focused = cell.contains(document.activeElement) && document.activeElement?.tagName === 'SUMMARY';
    const fresh = safetyCell(row.dataset.path!);
    const details = fresh.querySelector('details');
    if (details && open) details.open = true;
    cell.replaceChildren(fresh);
    if (focused) fresh.querySelector('summary')?.focus(); // the keyboard's place survives the redraw
  }
}

async function backupNow(f: Folder): Promise<void> {
  clearError();
  try {
    // Detached: it goes on if the page is reloaded; the Activity list shows its progress.
    await api('/api/backup', { method: 'POST', json: { path: f.path, detach: true }, ndjson: () => {} });
  } catch (err) {
    showError(err);
  }
}

function stateLabel(s: string): string {
  return (
    (
      { 'in-sync': 'in sync', scanning: 'scanning', uploading: 'uploading', committing: 'uploading', interrupted: 'interrupted', error: 'error' } as Record<
        string,
        string
      >
    )[s] ?? s
  );
}

function onEvent(e: { type: string; [k: string]: unknown }, list: HTMLElement, activity: Activity, peersChanged: () => void): void {
  if (e.type.startsWith('operation:')) {
    activity.onEvent(e);
  } else if (e.type === 'health:folders') {
    healthRunning = true;
    health = new Map((e.folders as FolderHealth[]).map((f) => [f.folder, f]));
    refreshSafety();
  } else if (e.type === 'sync:folder:state') {
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
    peersChanged(); // the count and the table, from /api/peers (events alone miscount: a peer has several connections)
  }
}

// ---- root cap and QR ------------------------------------------------------------------------------
async function showCap(f: Folder): Promise<void> {
  const panel = document.getElementById('panel')!;
  clear(panel);
  const text = h('textarea', { id: 'rootcap', readonly: true, rows: 3 }, f.rootCap) as HTMLTextAreaElement;
  const copied = h('span', { class: 'status', role: 'status' });
  const img = h('img', { alt: `QR code of the root cap of ${f.path}` }) as HTMLImageElement;
  const dialog = h(
    'section',
    { role: 'dialog', 'aria-labelledby': 'cap-title', 'aria-modal': 'false' },
    h('h2', { id: 'cap-title' }, `Root cap of ${f.path}`),
    h(
      'p',
      { class: 'warning' },
      'Warning: this cap grants read access to every snapshot of this folder, on any device in the swarm. Share it only with people and devices you trust; it cannot be revoked.'
    ),
    h('label', {}, 'Root cap', text),
    h(
      'p',
      {},
      button('Copy', async () => {
        try {
          await navigator.clipboard.writeText(f.rootCap);
          copied.textContent = 'Copied.';
        } catch {
          text.select();
          copied.textContent = 'Select the text and copy it (the clipboard is not available here).';
        }
      }),
      ' ',
      copied
    ),
    h('div', { class: 'qr' }, img),
    button('Close', () => clear(panel))
  );
  panel.append(dialog);
  try {
    const res = await api<Response>(`/api/caps/qr?${new URLSearchParams({ cap: f.rootCap, format: 'svg' })}`, { raw: true });
    img.src = URL.createObjectURL(await res.blob());
  } catch (err) {
    showError(err);
  }
}

// ---- snapshot browser -----------------------------------------------------------------------------
async function openBrowser(b: Browse): Promise<void> {
  clearError();
  await browseView(document.getElementById('panel')!, b, explain, button);
}

function button(label: string, onClick: () => unknown, ariaLabel?: string): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'secondary', ...(ariaLabel ? { 'aria-label': ariaLabel } : {}) }, label) as HTMLButtonElement;
  b.addEventListener('click', () => {
    void onClick();
  });
  return b;
}

signout.addEventListener('click', () => {
  stopLive();
  setToken(null);
  signInScreen('Signed out.');
});

if (token()) void home();
else signInScreen();

// A folder's history: its snapshots on a timeline, each bar the bytes that backup stored new
// (`stats.added`; older snapshots did not record it and show a hollow mark), a table of them, and what
// changed between any two (GET /api/diff) shown in the page.
import { api } from './api.ts';
import { addedTimeline } from './charts.ts';
import { clear, fmtBytes, fmtTime, h } from './dom.ts';

interface Listing {
  cap: string;
  time: number;
  host?: string;
  error?: string;
  stats?: { files: number; dirs: number; symlinks: number; bytes: number; added?: number };
}
interface Diff {
  added: string[];
  removed: string[];
  changed: string[];
  metadata: string[];
}

const DIFF_SHOWN = 200; // paths listed per kind of change (the counts are always whole)

export async function historyView(panel: HTMLElement, f: { path: string; rootCap: string }, explain: (err: unknown) => string): Promise<void> {
  clear(panel);
  const section = h('section', { 'aria-labelledby': 'history-h', 'data-history': f.path }, h('h2', { id: 'history-h' }, `History of ${f.path}`));
  panel.append(section);
  const status = h('p', { class: 'status', role: 'status' }, 'Reading the snapshots…');
  section.append(status);
  let snaps: Listing[];
  try {
    snaps = (await api<{ snapshots: Listing[] }>(`/api/snapshots?${new URLSearchParams({ of: f.rootCap, details: '1' })}`)).snapshots;
  } catch (err) {
    status.textContent = explain(err);
    return;
  }
  if (!snaps.length) {
    status.textContent = 'No snapshot yet: the first backup has not finished.';
    return;
  }
  status.textContent = `${snaps.length} ${snaps.length === 1 ? 'snapshot' : 'snapshots'}.`;
  const label = (x: Listing) => fmtTime(x.time);
  section.append(
    h(
      'figure',
      {},
      addedTimeline(snaps.map((x) => ({ time: x.time, added: x.stats?.added ?? null, label: label(x) }))),
      h(
        'figcaption',
        {},
        'Bytes each backup stored new (after deduplication and compression, before erasure coding). A hollow mark: not recorded by that backup.'
      )
    ),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { 'aria-label': 'Snapshots', class: 'stack' },
        h('thead', {}, h('tr', {}, ...['Time', 'Files', 'Size', 'Added', 'Host'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          {},
          ...snaps
            .slice()
            .reverse()
            .map((x) =>
              h(
                'tr',
                { 'data-snapshot': x.cap },
                h('th', { scope: 'row' }, label(x)),
                h('td', { 'data-label': 'Files' }, x.stats ? String(x.stats.files) : '—'),
                h('td', { 'data-label': 'Size' }, x.stats ? fmtBytes(x.stats.bytes) : '—'),
                h(
                  'td',
                  { 'data-label': 'Added' },
                  x.stats?.added !== undefined ? fmtBytes(x.stats.added) : x.error ? `unreadable: ${x.error}` : 'not recorded'
                ),
                h('td', { 'data-label': 'Host' }, x.host ?? '—')
              )
            )
        )
      )
    )
  );

  if (snaps.length < 2) return;
  const options = () =>
    snaps
      .slice()
      .reverse()
      .map((x) => h('option', { value: x.cap }, label(x)));
  const from = h('select', { id: 'diff-from' }, ...options()) as HTMLSelectElement;
  const to = h('select', { id: 'diff-to' }, ...options()) as HTMLSelectElement;
  from.selectedIndex = 1; // the one before the latest, against the latest
  const out = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { 'aria-label': 'Compare two snapshots' },
    h('label', {}, 'From snapshot', from),
    h('label', {}, 'To snapshot', to),
    h('button', { type: 'submit' }, 'Show changes')
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(out);
    out.append(h('p', { class: 'status' }, 'Comparing…'));
    try {
      const d = await api<Diff>(`/api/diff?${new URLSearchParams({ a: from.value, b: to.value })}`);
      clear(out);
      out.append(diffView(d));
    } catch (err) {
      clear(out);
      out.append(h('p', { class: 'status' }, explain(err)));
    }
  });
  section.append(h('h3', {}, 'What changed'), form, out);
}

function diffView(d: Diff): HTMLElement {
  const kinds: [keyof Diff, string][] = [
    ['added', 'Added'],
    ['removed', 'Removed'],
    ['changed', 'Changed'],
    ['metadata', 'Mode or time only']
  ];
  const total = kinds.reduce((a, [k]) => a + d[k].length, 0);
  if (!total) return h('p', { class: 'empty', 'data-diff': '0' }, 'No differences.');
  return h(
    'div',
    { class: 'diff', 'data-diff': total },
    h('p', {}, kinds.map(([k, t]) => `${t.toLowerCase()}: ${d[k].length}`).join(', ')),
    ...kinds
      .filter(([k]) => d[k].length)
      .map(([k, t]) =>
        h(
          'div',
          { class: `diff-${k}` },
          h('h4', {}, `${t} (${d[k].length})`),
          h('ul', { class: 'mono' }, ...d[k].slice(0, DIFF_SHOWN).map((p) => h('li', {}, p))),
          d[k].length > DIFF_SHOWN ? h('p', { class: 'empty' }, `and ${d[k].length - DIFF_SHOWN} more`) : ''
        )
      )
  );
}

// A folder's safety at a glance: a state colour with its word (safe, degraded, repairing, at risk,
// checking), the durability estimate as "nines" with the model's inputs on hover (and in a disclosure,
// for keyboards and phones), and one plain sentence. The figures are the health loop's
// (GET /api/health/state `folders`, then `health:folders` events); src/peer/folder-health.ts says how.
import { fmtAgo, h, shortPeer } from './dom.ts';

export interface FolderHealth {
  folder: string;
  rootCap: string;
  snapshot: { cap: string; time: number } | null;
  state: 'safe' | 'degraded' | 'repairing' | 'at-risk' | 'unknown';
  packs: number | null;
  checked: number;
  needed: number;
  total: number;
  threshold: number;
  minShares: number | null;
  minHosts: number | null;
  below: number;
  atRisk: number;
  unrecoverable: number;
  repairing: number;
  durability: number | null;
  weakest: number | null;
  hosts: { peer: string; availability: number; up: boolean; shares: number }[];
  lastFullCheck: number | null;
  lastRepair: number | null;
}

const LABEL: Record<FolderHealth['state'], string> = { safe: 'safe', degraded: 'degraded', repairing: 'repairing', 'at-risk': 'at risk', unknown: 'checking' };
// A shape as well as a colour: the state reads without colour vision.
const ICON: Record<FolderHealth['state'], string> = { safe: '●', degraded: '▲', repairing: '↻', 'at-risk': '■', unknown: '○' };

const MAX_NINES = 15; // a double carries about 15-16 significant digits: 1 - p below 1e-15 is rounding

/** -log10(1 - p): 0.999 is 3 nines. */
export function nines(p: number): number {
  return 1 - p <= 10 ** -MAX_NINES ? MAX_NINES : -Math.log10(1 - p);
}

export function ninesText(p: number | null): string {
  if (p === null) return 'not estimated yet';
  const n = nines(p);
  return n >= MAX_NINES ? `${MAX_NINES}+ nines` : `${n.toFixed(1)} nines`;
}

/** "99.94%", with as many digits as it takes to show the nines. */
function percent(p: number): string {
  const digits = Math.min(MAX_NINES, Math.max(0, Math.ceil(nines(p)) - 1));
  return `${(p * 100).toFixed(digits)}%`;
}

/** The model's inputs, one line each (the hover text and the disclosure). */
export function modelInputs(f: FolderHealth): string[] {
  const lines = [
    `P[every pack of the latest snapshot can be read now]${f.durability === null ? ': not estimated yet (not every pack checked)' : ` = ${percent(f.durability)}`}`,
    `${f.needed} of ${f.total} shares needed per pack; ${f.packs ?? '?'} packs; weakest pack ${f.weakest === null ? '?' : percent(f.weakest)}`,
    'Each holder up with its own probability (the share of health rounds it was seen up); packs and holders fail independently',
    ...f.hosts.map((x) => `peer ${shortPeer(x.peer)}: up ${(x.availability * 100).toFixed(0)}% of rounds, ${x.shares} shares${x.up ? '' : ', gone now'}`)
  ];
  return lines;
}

/** The plain-language sentence. */
export function sentence(f: FolderHealth): string {
  const need = `${f.needed} ${f.needed === 1 ? 'is' : 'are'} needed`;
  const weakest = `${f.minShares} of ${f.total} shares on ${f.minHosts} ${f.minHosts === 1 ? 'peer' : 'peers'}`;
  const n = f.packs ?? 0;
  switch (f.state) {
    case 'safe':
      if (n === 0) return 'Everything in the latest snapshot fits in its caps: nothing stored can be lost.';
      return f.minHosts === f.total && f.minShares === f.total
        ? `Every pack of the latest snapshot (${n}) has ${f.total} of ${f.total} shares on ${f.total} distinct peers; ${need}.`
        : `Every pack of the latest snapshot (${n}) has at least ${f.minShares} of ${f.total} shares on at least ${f.minHosts} distinct peers; ${need}.`;
    case 'degraded':
      return `${f.below} of ${n} packs have their shares on fewer than ${f.threshold} distinct peers (the weakest: ${weakest}); ${need}. The health loop will place the missing shares again.`;
    case 'repairing':
      return `Repairing ${f.repairing} of ${n} packs: their missing shares are being placed on other peers (the weakest: ${weakest}); ${need}.`;
    case 'at-risk':
      return f.unrecoverable
        ? `${f.unrecoverable} of ${n} packs cannot be read now: fewer than ${f.needed} of their shares are on peers that are up.`
        : `${f.atRisk} of ${n} packs are down to ${weakest}: one more lost peer and they cannot be read (${need}).`;
    default:
      if (!f.snapshot) return 'No snapshot yet.';
      if (f.packs === null || f.checked === 0) return 'The latest snapshot has not been checked yet: the health loop checks it in its next round.';
      return `${f.checked} of ${n} packs of the latest snapshot checked so far.`;
  }
}

/** The safety cell of a folder's row. */
export function safetyView(f: FolderHealth | undefined): HTMLElement {
  if (!f) return h('div', { class: 'safety', 'data-health': 'none' }, h('span', { class: 'empty' }, 'The health loop has not reported on this folder yet.'));
  const inputs = modelInputs(f);
  const figure = h('span', { class: 'nines', title: inputs.join('\n') }, ninesText(f.durability));
  const details = h(
    'details',
    {},
    h('summary', {}, 'How safe, in detail'),
    h(
      'dl',
      {},
      h('dt', {}, 'Packs below the repair threshold'),
      h('dd', { 'data-below': f.below }, `${f.below} of ${f.packs ?? '?'} (threshold: ${f.threshold} distinct peers)`),
      h('dt', {}, 'Last full check'),
      h('dd', {}, f.lastFullCheck === null ? 'not yet' : fmtAgo(f.lastFullCheck)),
      h('dt', {}, 'Last repair'),
      h('dd', { 'data-last-repair': f.lastRepair ?? '' }, f.lastRepair === null ? 'none' : fmtAgo(f.lastRepair))
    ),
    h('ul', { class: 'inputs' }, ...inputs.map((l) => h('li', {}, l)))
  );
  return h(
    'div',
    { class: 'safety', 'data-health': f.state },
    h('span', { class: `badge health-${f.state}` }, h('span', { 'aria-hidden': 'true' }, ICON[f.state]), ` ${LABEL[f.state]}`),
    ' ',
    figure,
    h('p', { class: 'sentence' }, sentence(f)),
    details
  );
}

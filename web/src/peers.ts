// Who holds my data and whose I hold: one row per peer (connected now, or known to the fairness ledger)
// with how it is reached, the uptime seen, what it stores for me against what I store for it (a bar on one
// scale for every row), its audit standing and last audit, its round trip and the space it offers; above
// them, the swarm's total space. From GET /api/peers, /api/fairness and /api/swarm; each may be missing
// (an older daemon, a read-only node): the table says "unknown" rather than guess.
import { api } from './api.ts';
import { balanceBar } from './charts.ts';
import { fmtAgo, fmtBytes, fmtDuration, h, shortPeer } from './dom.ts';

interface PeerInfo {
  id: string;
  addresses: string[];
  latencyMs?: number;
  reachability?: unknown;
}
interface Balance {
  peer: string;
  storedForThem: number;
  theyStoreForMe: number;
  balance: number;
  standing: 'good' | 'failed';
  audits: { ok: number; failed: number; lastOk: number | null; lastFailure: number | null; lastError: string | null };
  uptime: { firstSeen: number; lastSeen: number; connectedMs: number; connected: boolean };
}
interface Fairness {
  offer: { offered: number; usedByOthers: number };
  use: { placed: number; peers: number };
  peers: Balance[];
}
interface SwarmOverview {
  peers: { id: string; latencyMs: number | null; offered: number | null; used: number | null; free: number | null; shares: number | null }[];
  totals: { peers: number; answered: number; offered: number; used: number; free: number };
}

/**
 * How a peer is reached. Issue 18 adds reachability per peer to GET /api/peers: a string ("direct",
 * "relayed", "upnp", …) or an object naming it in `via` (or `kind` / `type` / `mode`), with an address;
 * without it, the connection's address tells direct from relayed.
 */
export function reachedVia(p: PeerInfo | undefined): string {
  if (!p) return 'not connected';
  const r = p.reachability as any;
  if (typeof r === 'string' && r) return r;
  if (r && typeof r === 'object') {
    const via = [r.via, r.kind, r.type, r.mode].find((v) => typeof v === 'string');
    const addr = [r.address, r.addr, r.remoteAddr].find((v) => typeof v === 'string');
    if (via) return addr ? `${via} (${addr})` : via;
  }
  const addr = p.addresses[0];
  if (!addr) return 'connected';
  if (addr.includes('/p2p-circuit')) return 'relayed';
  const m = /^\/(ip4|ip6|dns4|dns6|dns)\/([^/]+)\/(tcp|udp)\/(\d+)/.exec(addr);
  return m ? `direct (${m[3]} ${m[2]}:${m[4]})` : 'direct';
}

function uptimeText(b: Balance | undefined, connected: boolean): string {
  if (!b || !b.uptime.firstSeen) return connected ? 'connected now' : 'unknown';
  const seen = Math.max(1, Date.now() - b.uptime.firstSeen);
  const pct = Math.min(100, (100 * b.uptime.connectedMs) / seen);
  return `${b.uptime.connected ? 'connected now' : `last seen ${fmtAgo(b.uptime.lastSeen)}`}; up ${pct.toFixed(0)}% of ${fmtDuration(seen / 1000)} seen`;
}

function auditText(b: Balance | undefined): string {
  if (!b) return 'unknown';
  const last = Math.max(b.audits.lastOk ?? 0, b.audits.lastFailure ?? 0);
  return `${b.standing === 'good' ? 'good' : 'failed'}: ${b.audits.ok} passed, ${b.audits.failed} failed${last ? `; last ${fmtAgo(last)}` : '; never audited'}`;
}

export interface PeersView {
  element: HTMLElement;
  /** Space totals and my balance, for the swarm summary. */
  totals: HTMLElement;
  balance: HTMLElement;
  refresh(): Promise<void>;
}

/** `onConnected`: how many peers are connected now (the swarm summary's count, kept right by each refresh). */
export function createPeers(onConnected: (n: number) => void = () => {}): PeersView {
  const body = h('div', {});
  const totals = h('span', {}, '…');
  const balance = h('span', {}, '…');
  const element = h('section', { 'aria-labelledby': 'peers-h' }, h('h2', { id: 'peers-h' }, 'Peers'), body);
  let busy = false;

  async function refresh(): Promise<void> {
    if (busy) return;
    busy = true;
    try {
      const [peers, fairness, swarm] = await Promise.all([
        api<{ peers: PeerInfo[] }>('/api/peers').then(
          (r) => r.peers,
          () => [] as PeerInfo[]
        ),
        api<Fairness>('/api/fairness').catch(() => null),
        api<SwarmOverview>('/api/swarm').catch(() => null)
      ]);
      onConnected(peers.length);
      render(peers, fairness, swarm);
    } finally {
      busy = false;
    }
  }

  function render(peers: PeerInfo[], fairness: Fairness | null, swarm: SwarmOverview | null): void {
    // Fairness balances come from another service; absent, say so rather than show a number we lack.
    balance.textContent = fairness
      ? `others store ${fmtBytes(fairness.use.placed)} for me; I store ${fmtBytes(fairness.offer.usedByOthers)} for them`
      : 'not available on this daemon';
    totals.textContent = swarm
      ? `${fmtBytes(swarm.totals.used)} used of ${fmtBytes(swarm.totals.offered)} offered by ${swarm.totals.answered} of ${swarm.totals.peers} peers (this one included)`
      : 'unknown';
    const connected = new Map(peers.map((p) => [p.id, p]));
    const balances = new Map((fairness?.peers ?? []).map((b) => [b.peer, b]));
    const space = new Map((swarm?.peers ?? []).map((p) => [p.id, p]));
    const ids = [...new Set([...connected.keys(), ...balances.keys()])].sort(
      (a, b) =>
        Number(connected.has(b)) - Number(connected.has(a)) ||
        (balances.get(b)?.theyStoreForMe ?? 0) - (balances.get(a)?.theyStoreForMe ?? 0) ||
        a.localeCompare(b)
    );
    body.replaceChildren();
    if (!ids.length) {
      body.append(h('p', { class: 'empty' }, 'No peers yet: the daemon has not reached the swarm.'));
      return;
    }
    const max = Math.max(1, ...[...balances.values()].flatMap((b) => [b.theyStoreForMe, b.storedForThem]));
    const rows = ids.map((id) => {
      const p = connected.get(id);
      const b = balances.get(id);
      const sp = space.get(id);
      const latency = p?.latencyMs ?? sp?.latencyMs ?? null;
      return h(
        'tr',
        { 'data-peer': id },
        h('th', { scope: 'row', class: 'mono', title: id }, shortPeer(id)),
        h('td', { 'data-label': 'Reached via' }, reachedVia(p)),
        h('td', { 'data-label': 'Uptime seen' }, uptimeText(b, connected.has(id))),
        h(
          'td',
          { 'data-label': 'For me / for it', 'data-for-me': b?.theyStoreForMe ?? '', 'data-for-them': b?.storedForThem ?? '' },
          b ? balanceBar(b.theyStoreForMe, b.storedForThem, max) : '',
          h('div', { class: 'small' }, b ? `${fmtBytes(b.theyStoreForMe)} for me · ${fmtBytes(b.storedForThem)} for it` : 'no account yet')
        ),
        h('td', { 'data-label': 'Audits', class: b?.standing === 'failed' ? 'bad' : '' }, auditText(b)),
        h('td', { 'data-label': 'Latency' }, latency === null ? '—' : `${Math.round(latency)} ms`),
        h('td', { 'data-label': 'Space offered' }, sp?.offered != null ? `${fmtBytes(sp.used ?? 0)} used of ${fmtBytes(sp.offered)}` : '—')
      );
    });
    body.append(
      h(
        'p',
        { class: 'legend' },
        h('span', { class: 'key key-me', 'aria-hidden': 'true' }),
        ' stores for me ',
        h('span', { class: 'key key-them', 'aria-hidden': 'true' }),
        ' I store for it (one scale for every peer)'
      ),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { 'aria-label': 'Peers', class: 'stack' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Peer', 'Reached via', 'Uptime seen', 'For me / for it', 'Audits', 'Latency', 'Space offered'].map((t) => h('th', { scope: 'col' }, t))
            )
          ),
          h('tbody', {}, ...rows)
        )
      )
    );
  }

  return { element, totals, balance, refresh };
}

// Every human (text-mode) rendering of a command's result, in one place; `--json` prints the result
// object instead. Renderers are pure: data in, text out, nothing printed here.
//
// Names, paths, link targets, error messages and caps come from the daemon, and through it from
// snapshots and peers nobody vouches for: a file named "\x1b]0;…\x07" or a symlink whose target clears the
// screen must not reach the terminal as control sequences. Every such string goes through `printable`,
// and every time through `isoTime` / `isoFromNs`, which never throw on out-of-range values.
import { formatSize } from '../store/size.ts';

/**
 * C0 and C1 controls, DEL, the backslash (so an escape in the output is never ambiguous), and the
 * invisible Unicode format characters that reorder or hide text (bidi overrides and isolates, zero-width
 * characters, line/paragraph separators, BOM, interlinear annotations).
 */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\\\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

/** `s` with every character that could drive or fool a terminal written as an escape (\n, \t, \xHH, \uHHHH, \\). */
export function printable(s: unknown): string {
  return String(s).replace(UNSAFE, (c) => {
    switch (c) {
      case '\\':
        return '\\\\';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
    }
    const cp = c.codePointAt(0)!;
    return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}

/** Shown instead of a time that is not one (out of Date's ±8.64e15 ms range, not a number): same width as an ISO time. */
export const UNKNOWN_TIME = '????-??-??T??:??:??.???Z';
/** Date's range: ±100,000,000 days around 1970 (ECMA-262 §21.4.1.1), in ms. */
const MAX_DATE_MS = 8.64e15;

/** ms since epoch -> ISO 8601, or UNKNOWN_TIME for anything Date cannot hold. */
export function isoTime(ms: unknown): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) return UNKNOWN_TIME;
  return new Date(ms).toISOString();
}

/** ns since epoch as a decimal string (snapshot entries' mtimeNs) -> ISO 8601, or UNKNOWN_TIME. */
export function isoFromNs(ns: unknown): string {
  // A crafted snapshot may carry any string. Date's range ends within 22 digits of ns (8.64e21), so
  // longer input is refused before BigInt parses it (a megabyte of digits costs nothing here).
  if (typeof ns !== 'string' || !/^-?\d{1,22}$/.test(ns)) return UNKNOWN_TIME;
  const ms = BigInt(ns) / 1_000_000n;
  return ms > BigInt(MAX_DATE_MS) || ms < -BigInt(MAX_DATE_MS) ? UNKNOWN_TIME : isoTime(Number(ms));
}

const lines = (...parts: (string | string[])[]) => parts.flat().join('\n');

export function renderInit(r: { home: string; peerId: string; swarmKey?: string | null; recoveryCap: string }, qr: string): string {
  return lines(
    `initialized ${printable(r.home)}`,
    `peer id: ${r.peerId}`,
    r.swarmKey ? [`swarm key: ${r.swarmKey} (copy it to every peer of the swarm)`] : [],
    '',
    'RECOVERY CAP: with it alone, a replacement device becomes this one (identity, configuration, folders).',
    'Write it down or photograph the code, and keep it secret: it grants full control. This device keeps a copy in HOME/recovery.cap, which is lost with the device.',
    r.recoveryCap,
    qr
  );
}

const READ_KINDS = new Set(['mr', 'blob', 'lit']);

export function renderCapShow(r: { cap: string; type: string; verifyCap: string | null }, qr: string | null): string {
  const warning = READ_KINDS.has(r.type) ? ' (grants read access: share it only with whom may read)' : r.type === 'mw' ? ' (WRITE cap: never share it)' : '';
  return lines(
    `type:       ${r.type}${warning}`,
    `cap:        ${r.cap}`,
    `verify cap: ${r.verifyCap ?? (r.type === 'blob' ? '(none: `p2pbackup check` checks every pack it reaches)' : '(none: a literal cap holds its data)')}`,
    qr !== null ? ['', qr] : []
  );
}

export interface Skipped {
  path: string;
  error: string;
}

export function renderBackup(folder: { rootCap: string; lastSnapshot?: { cap: string } | null }, stats: any, seconds: number): string {
  const skipped: Skipped[] = stats.skipped ?? [];
  return lines(
    `snapshot ${printable(folder.lastSnapshot?.cap ?? '(none)')}`,
    `root cap (restores this folder anywhere; keep it secret): ${printable(folder.rootCap)}`,
    `${stats.files} files, ${stats.dirs} dirs, ${stats.symlinks} symlinks; ${stats.unchanged} unchanged (not read), ${(stats.bytesRead / 1e6).toFixed(1)} MB read of ${(stats.bytesTotal / 1e6).toFixed(1)} MB; ${seconds.toFixed(1)} s`,
    skipped.length ? [`skipped ${skipped.length}:`, ...skipped.map((x) => `  ${printable(x.path)}: ${printable(x.error)}`)] : []
  );
}

export function renderSnapshots(r: { snapshots: { cap: string; time: number }[] }): string {
  return r.snapshots.map((s) => `${isoTime(s.time)}  ${printable(s.cap)}`).join('\n') || '(no snapshots yet)';
}

export interface LsEntry {
  name: string;
  type: string;
  mode: number;
  size?: number;
  mtimeNs: string;
  target?: string;
}

export function renderLs(r: { entries: LsEntry[] }): string {
  return r.entries
    .map((e) => {
      const kind = e.type === 'dir' ? 'd' : e.type === 'symlink' ? 'l' : '-';
      const mode = (Number(e.mode) & 0o777).toString(8).padStart(4, '0');
      return `${kind}${mode} ${printable(e.size ?? '').padStart(12)} ${isoFromNs(e.mtimeNs)} ${printable(e.name)}${e.target ? ` -> ${printable(e.target)}` : ''}`;
    })
    .join('\n');
}

export function renderDiff(r: Record<string, string[] | undefined>): string {
  const mark = (sign: string, paths: string[] | undefined) => (paths ?? []).map((p) => `${sign} ${printable(p)}`);
  return lines(mark('+', r.added), mark('-', r.removed), mark('M', r.changed), mark('U', r.metadata)) || '(no differences)';
}

export function renderRestore(r: { stats: { files: number; bytesWritten: number; failed?: Skipped[] } }, target: string): string {
  const failed = r.stats.failed ?? [];
  const tail = failed.length ? `; ${failed.length} failed:\n${failed.map((f) => `  ${printable(f.path)}: ${printable(f.error)}`).join('\n')}` : '';
  return `restored ${r.stats.files} files (${r.stats.bytesWritten} bytes) into ${printable(target)}${tail}`;
}

export function renderForget(r: { keep: unknown[]; remove: unknown[] }): string {
  return `kept ${r.keep.length} snapshots, removed ${r.remove.length}`;
}

export interface PruneSummary {
  packs: number;
  packsKept: number;
  packsRepacked: number;
  packsDeleted: number;
  blobsLive: number;
  blobsDead: number;
  bytesFreed: number;
  bytesBefore: number;
  bytesAfter: number;
}

export function renderPrune(r: PruneSummary, dryRun = false): string {
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  return `${dryRun ? 'would prune' : 'pruned'}: ${r.packs} packs (${r.packsKept} kept, ${r.packsRepacked} rewritten, ${r.packsDeleted} deleted); ${r.blobsLive} blobs live, ${r.blobsDead} dead; ${mb(r.bytesBefore)} -> ${mb(r.bytesAfter)} (${mb(r.bytesFreed)} freed, before erasure coding)`;
}

export function renderWatchAdd(f: { path: string; rootCap: string }): string {
  return `watching ${printable(f.path)}\nroot cap (restores this folder anywhere; keep it secret): ${printable(f.rootCap)}`;
}

export function renderWatchRemove(f: { path: string }): string {
  return `no longer watching ${printable(f.path)} (its snapshots stay in the swarm)`;
}

/** One folder's state, for `watch list` and `status`. */
function folderLine(f: any, last: string, pending: (n: number) => string): string {
  return `${printable(f.state).padEnd(12)} ${f.watch ? 'watched' : 'manual '} ${printable(f.path)}  ${last}: ${f.lastSnapshot ? isoTime(f.lastSnapshot.time) : 'never'}${f.pending ? pending(f.pending) : ''}${f.lastError ? `  error: ${printable(f.lastError)}` : ''}`;
}

export function renderWatchList(r: { folders: any[] }): string {
  return r.folders.map((f) => folderLine(f, 'last', (n) => `  pending: ${n}`)).join('\n') || '(no folders)';
}

export function renderRecover(r: { peerId: string; folders: { path: string; snapshot: string | null; files: number }[] }, home: string): string {
  return lines(
    `recovered peer ${printable(r.peerId)} into ${printable(home)}`,
    r.folders.map((f) => `  ${printable(f.path)}: ${f.snapshot ? `${f.files} files restored` : 'no snapshot yet'}`),
    `start \`p2pbackup --home ${printable(home)} daemon\` to resume watching`
  );
}

/** Human form of a check, deep check or repair report. */
export function renderCheck(r: any): string {
  const file = (f: any) =>
    `${f.recoverable ? (f.healthy ? 'healthy    ' : 'degraded   ') : 'UNRECOVERABLE'} ${f.found}/${f.total} shares (need ${f.needed}) on ${f.hosts} hosts, happiness ${f.happiness}${f.corrupt?.length ? `, corrupt: ${f.corrupt.map((c: any) => `share ${c.shareNum} on ${printable(c.peer)}`).join(', ')}` : ''}  ${printable(String(f.cap).slice(0, 48))}…`;
  if (r.files) {
    return lines(
      r.files.filter((f: any) => !f.healthy).map(file),
      (r.repairs ?? []).map(
        (x: any) =>
          `repaired ${printable(String(x.cap).slice(0, 40))}…: placed ${x.placed.length}, deleted ${x.deleted.length}${x.failures.length ? `, ${x.failures.length} failures` : ''}`
      ),
      r.errors.map((e: any) => `error: ${printable(e.error)}`),
      `${r.objects} objects in ${r.snapshots.length} snapshot(s): ${r.healthy} healthy, ${r.unhealthy} not, ${r.unrecoverable} unrecoverable`
    );
  }
  if (r.before) {
    return lines(
      `before: ${file(r.before)}`,
      `after:  ${file(r.after)}`,
      r.placed.map((p: any) => `placed share ${p.shareNum} on ${printable(p.peer)}`),
      r.deleted.map((p: any) => `deleted corrupt share ${p.shareNum} on ${printable(p.peer)}`),
      r.failures.map((f: any) => `failure: ${printable(f.error)}`)
    );
  }
  const holders = Object.entries(r.holders ?? {}).map(([s, peers]: any) => `  share ${printable(s)}: ${peers.map(printable).join(', ')}`);
  return lines(file(r), holders);
}

/** `peers`: one line each, with how storage traffic reaches it (direct, own connection, relay X). */
export function renderPeers(r: { peers: { id: string; addresses: string[]; reach?: string | null; relay?: string | null }[] }): string {
  const how = (p: { reach?: string | null; relay?: string | null }) =>
    p.reach === 'relay' ? `relay ${printable(p.relay ?? '?')}` : p.reach === 'own-connection' ? 'own connection' : p.reach ? printable(p.reach) : 'limited';
  return r.peers.map((p) => `${printable(p.id)} [${how(p)}] ${p.addresses.map(printable).join(' ')}`).join('\n') || '(no peers connected)';
}

/** The status command's reachability lines (null: a daemon that does not check). */
function reachabilityLines(r: any | null): string[] {
  if (!r) return [];
  const out = [`reached:   ${printable(r.summary)}`];
  if (r.unconfirmed?.length) out.push(`           not dialled back at ${r.unconfirmed.map(printable).join(', ')}`);
  const rs = r.relayServer;
  if (rs) {
    const cap = (b: number, unit = '') => (b > 0 ? `${formatSize(b)}${unit}` : 'no cap');
    out.push(
      `relaying:  ${rs.reservations} reservations, ${rs.circuits} circuits open, ${formatSize(rs.bytesRelayed)} carried; rate ${cap(rs.rate, '/s')}, ${cap(rs.dailyBytes)} per member a day${rs.overBudget ? `, ${rs.overBudget} refused over budget` : ''}`
    );
  }
  return out;
}

export function renderPing(r: { ms: number; relayed: boolean; remoteAddr: string }): string {
  return `${r.ms} ms via ${printable(r.remoteAddr)}${r.relayed ? ' (relayed: control traffic only)' : ''}`;
}

/** The status command's fairness section: totals, then one line per peer (most in my debt first). */
function fairnessLines(f: any): string[] {
  const size = (b: number) => formatSize(Math.max(0, Math.round(b)));
  const s = f.settings;
  const out = [
    `fairness:  ${s.enabled ? `on, ratio ${s.ratio} x + ${size(s.graceBytes)} grace` : 'off'}; I offer ${size(f.offer.offered)} (${size(f.offer.usedByOthers)} used by others), I use ${size(f.use.placed)} on ${f.use.peers} peers`
  ];
  for (const p of f.peers) {
    out.push(
      `  ${printable(String(p.peer).slice(-12))}  they store ${size(p.theyStoreForMe).padStart(10)} for me, I store ${size(p.storedForThem).padStart(10)} for them, limit ${size(p.limit).padStart(10)}  audits ${p.audits.ok}/${p.audits.ok + p.audits.failed}${p.standing === 'failed' ? ' FAILED' : ''}${p.uptime.connected ? '  online' : ''}`
    );
  }
  return out;
}

/** `status`: this peer, then its folders, its fairness balances (null: an older daemon without them) and health. */
export function renderStatus(s: any, fairness: any | null): string {
  const h = s.health;
  return lines(
    `peer id:   ${printable(s.peerId)}`,
    `home:      ${printable(s.home)}`,
    `api:       ${printable(s.api.url)}`,
    `swarm:     ${s.privateSwarm ? 'private (swarm key)' : 'open'}, ${s.peersConnected} peers connected`,
    `storage:   ${s.storage.shares} shares, ${s.storage.used} of ${s.storage.offered} bytes offered`,
    `encoding:  ${s.encoding.k}-of-${s.encoding.n}, happy ${s.encoding.happy}`,
    `addresses: ${s.addresses.map(printable).join('\n           ')}`,
    reachabilityLines(s.reachability ?? null),
    `folders:   ${s.folders.length ? '' : '(none)'}`,
    s.folders.map((f: any) => `  ${folderLine(f, 'last snapshot', (n) => `, ${n} changes pending`)}`),
    fairness ? fairnessLines(fairness) : [],
    h
      ? [
          `health:    ${h.lastRun ? `last round ${isoTime(h.lastRun)}` : 'no round yet'}, ${h.filesTracked} objects tracked, ${h.repaired} repaired, durability ${h.durability === null ? 'unknown' : h.durability.toFixed(6)}`
        ]
      : []
  );
}

export function renderSwarmReady(info: { peers: unknown[]; client: { home: string } }): string {
  const home = printable(info.client.home);
  return `swarm ready: ${info.peers.length} peers; client home ${home}\ntry: p2pbackup --home ${home} put FILE\n(Ctrl-C stops them all)`;
}

/** An error for stderr: a P2PBackupError's message, else the stack, each line made printable. */
export function renderError(err: unknown, known: boolean): string {
  const e = err as { message?: unknown; stack?: unknown } | null;
  const text = known ? String(e?.message ?? err) : String(e?.stack ?? err);
  return text.split('\n').map(printable).join('\n');
}

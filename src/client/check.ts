// Check: who holds which shares of an immutable file, as a report (never an exception for an unhealthy file).
// 1. Ask the DHT-closest peers and the provider records for the storage index (LIST, 5 s each).
// 2. found = distinct share numbers, hosts = distinct peers, happiness = max matching of shares to peers.
// 3. With `verify`, every (peer, share) is downloaded and checked block by block against the cap (verify.ts):
//    corrupt shares leave the counts and are listed by peer.
// Walking snapshots to check everything they reach is folder work: src/peer/check.ts.
import { formatCap, parseCap, storageIndexOf } from '../caps/index.ts';
import type { PackCap } from '../caps/index.ts';
import { InvalidCapError } from '../caps/index.ts';
import { happiness } from './happiness.ts';
import { locate, type Located } from './locate.ts';
import { verifyHolders, type ShareVerdict } from './verify.ts';
import type { ClientProgress, ServerFinder } from './types.ts';

export interface CheckOptions {
  verify?: boolean;
  /**
   * Look beyond the DHT-closest peers (provider records, then every known peer) only while they hold fewer than
   * this many distinct shares; default n, every share (and always n with `verify`). The health loop asks for its
   * repair threshold: a pack with a share on a host that is down is short of n for as long as the host is, and
   * each check of it then waited for the provider records' deadline (2 s) and for LISTs to every known peer,
   * the down ones included (5 s each while not backed off).
   */
  enough?: number;
  signal?: AbortSignal;
  onProgress?: (e: ClientProgress) => void;
}

export interface CorruptShare {
  peer: string;
  shareNum: number;
  region?: string;
  reason: string;
}

export interface FileCheckReport {
  cap: string;
  /** The verify cap (what repair and audits need), null for literal caps. */
  verifyCap: string | null;
  storageIndex: string | null;
  needed: number;
  total: number;
  /** Distinct good share numbers found. */
  found: number;
  /** Distinct peers holding at least one good share. */
  hosts: number;
  happiness: number;
  recoverable: boolean;
  /** All n shares on n distinct hosts (and none corrupt, when verified). */
  healthy: boolean;
  /** shareNum -> peers holding a good copy. */
  holders: Record<string, string[]>;
  verified: boolean;
  corrupt: CorruptShare[];
  /** Peers asked that did not answer LIST. */
  unreachable: string[];
}

/** The pack cap a check acts on, or null for a literal cap (nothing stored). */
export function immutableCap(capText: string): { cap: PackCap; verify: PackCap } | null {
  const c = parseCap(capText);
  if (c.type === 'lit') return null;
  if (c.type !== 'pack')
    throw new InvalidCapError(
      'ERR_CAP_WRONG_KIND',
      `a pack cap is needed here, not a "${c.type}" cap (files, snapshots and folders are checked through the packs they reach: p2pbackup check)`,
      { type: c.type }
    );
  return { cap: c, verify: c };
}

export function placementsOf(pairs: { peer: string; shareNum: number }[]): Map<number, Set<string>> {
  const m = new Map<number, Set<string>>();
  for (const p of pairs) (m.get(p.shareNum) ?? m.set(p.shareNum, new Set()).get(p.shareNum)!).add(p.peer);
  return m;
}

export function buildReport(capText: string, verify: PackCap, loc: Located, verdicts: ShareVerdict[] | null): FileCheckReport {
  const bad = new Set((verdicts ?? []).filter((v) => v.status === 'corrupt').map((v) => `${v.peer}/${v.shareNum}`));
  const gone = new Set((verdicts ?? []).filter((v) => v.status === 'unavailable').map((v) => `${v.peer}/${v.shareNum}`));
  const good = loc.pairs.filter((p) => !bad.has(`${p.peer}/${p.shareNum}`) && !gone.has(`${p.peer}/${p.shareNum}`));
  const placements = placementsOf(good);
  const h = happiness(placements);
  const found = placements.size;
  return {
    cap: capText,
    verifyCap: formatCap(verify),
    storageIndex: Buffer.from(loc.si).toString('hex'),
    needed: verify.k,
    total: verify.n,
    found,
    hosts: new Set(good.map((p) => p.peer)).size,
    happiness: h,
    recoverable: found >= verify.k,
    healthy: h >= verify.n && bad.size === 0,
    holders: Object.fromEntries([...placements].sort((a, b) => a[0] - b[0]).map(([s, peers]) => [String(s), [...peers].sort()])),
    verified: verdicts !== null,
    corrupt: (verdicts ?? [])
      .filter((v) => v.status === 'corrupt')
      .map((v) => ({ peer: v.peer, shareNum: v.shareNum, region: v.region, reason: v.reason ?? 'corrupt' })),
    unreachable: [...loc.unreachable, ...[...gone].map((x) => x.split('/')[0])].filter((x, i, a) => a.indexOf(x) === i)
  };
}

function literalReport(capText: string): FileCheckReport {
  return {
    cap: capText,
    verifyCap: null,
    storageIndex: null,
    needed: 0,
    total: 0,
    found: 0,
    hosts: 0,
    happiness: 0,
    recoverable: true,
    healthy: true,
    holders: {},
    verified: false,
    corrupt: [],
    unreachable: []
  };
}

/** Check one immutable file (read or verify cap). Literal caps are always healthy (the data is the cap). */
export async function checkFile(capText: string, finder: ServerFinder, o: CheckOptions = {}): Promise<FileCheckReport> {
  return (await inspectFile(capText, finder, o)).report;
}

/** checkFile plus where the shares are (for repair). */
export async function inspectFile(
  capText: string,
  finder: ServerFinder,
  o: CheckOptions = {}
): Promise<{ report: FileCheckReport; loc: Located | null; verdicts: ShareVerdict[] | null }> {
  const ic = immutableCap(capText);
  if (!ic) return { report: literalReport(capText), loc: null, verdicts: null };
  const si = storageIndexOf(ic.verify)!;
  const n = ic.verify.n;
  const loc = await locate(si, finder, n, o.signal, o.verify ? n : Math.min(n, o.enough ?? n));
  const verdicts = o.verify ? await verifyHolders(ic.verify, loc, o) : null;
  return { report: buildReport(capText, ic.verify, loc, verdicts), loc, verdicts };
}

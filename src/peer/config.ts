// A peer's configuration file (`HOME/config.json`): read, validated field by field, written atomically.
// Unknown keys and wrong types are refused with a message naming the key, so a typo never silently
// falls back to a default.
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute } from 'node:path';
import { homedir, tmpdir } from 'node:os';
import { ConfigError } from './errors.ts';
import { parseSize, STORE_KINDS, type StoreChoice } from '../store/index.ts';
import { DEFAULT_GRACE_BYTES, DEFAULT_RATIO, MAX_RATIO } from '../fairness/constants.ts';
import { KEEP_CONNECTIONS, RELAY_DAILY_BYTES, RELAY_MAX_RESERVATIONS, RELAY_RATE } from '../net/constants.ts';

export interface PeerConfig {
  /** libp2p listen multiaddrs. Default: all interfaces, IPv4 and IPv6, TCP port 7171 (a fixed port, so
   *  peers that remember this one find it again after a restart). Where IPv6 is off, IPv4 alone is used. */
  listen: string[];
  /** Addresses to announce instead of the observed ones (for NAT / port forwards). */
  announce: string[];
  /** Multiaddrs (with /p2p/ID) of peers to join at start. */
  bootstrap: string[];
  /** mDNS discovery on the LAN. */
  mdns: boolean;
  /** The DHT keeps only private (LAN, VPN, loopback) addresses of peers, as for a swarm on one LAN or a VPN.
   *  Set false for a swarm across the Internet: public addresses (IPv4, global IPv6, relays) are kept too. */
  lanOnly: boolean;
  /** Disk offered to the swarm, in bytes. */
  offer: number;
  /** Default encoding: k shares needed of n, placed on at least `happy` distinct peers. */
  encoding: { k: number; n: number; happy: number };
  /** The local API the CLI and the web UI use. Loopback unless set explicitly. `allowedRoots`: the only
   *  directories (and what is below them) whose paths the API accepts for folders, backups, puts and
   *  restore targets; absent means the user's home directory and the OS temp directory. */
  api: { host: string; port: number; allowedRoots?: string[] };
  /** Fair sharing (docs/INCENTIVES.md): store for a peer at most ratio × what it stores for me + graceBytes. */
  fairness: { enabled: boolean; ratio: number; graceBytes: number };
  /** Circuit relay v2 (docs/PROTOCOL.md §Reachability). `server`: relay storage traffic for members (a
   *  peer with a public address), each member sending at most `dailyBytes` a day through it, all of them
   *  together at most `rate` bytes per second (0: the link decides), for at most `maxReservations` members
   *  behind NAT at once. `client`: hold reservations on relays we are connected to: `"auto"` while no
   *  address of ours is dialled back, `true` always, `false` never. */
  relay: RelayConfig;
  /** Outbound connections kept open while no address of ours is dialled back (behind NAT), so that others
   *  reach us over them: our DHT neighbourhood, or everyone in a small swarm. 0: none. */
  keepConnections: number;
  /** Ask the router for a port mapping (UPnP). Off by default: LAN swarms need none. */
  upnp: boolean;
  /** The background health loop (docs/HEALTH.md). */
  health: HealthConfig;
  /** Where shares held for others live: "disk" (HOME/store: files + LevelDB index) or "memory" (RAM,
   *  lost at every stop: tests and throwaway peers; the offer still bounds it, so size it to RAM). */
  store: StoreChoice;
}

export interface RelayConfig {
  server: boolean;
  client: boolean | 'auto';
  rate: number;
  dailyBytes: number;
  maxReservations: number;
}

export interface HealthConfig {
  /** Run the loop at all (checks, repairs, audits, lease renewal). GC of this peer's store runs regardless. */
  enabled: boolean;
  /** Time between two health rounds (ms). */
  intervalMs: number;
  /** Repair a file whose happiness fell below this (k..n); null: the encoding's `happy`. */
  repairThreshold: number | null;
  /** Repair a file only once it has been seen below the threshold this long (ms): a holder restarting for an
   *  update is back before its shares are placed again. 0: at the first check that sees it below. */
  repairAfterMs: number;
  /** Lease asked for on renewal (days). */
  leaseDays: number;
  /** Renew leases at most this often (ms): a day, against 31-day leases. */
  renewEveryMs: number;
  /** Time between two GC passes over this peer's store (ms). */
  gcIntervalMs: number;
  /** Files checked per round at most (the rest wait for the next rounds: bounded cost). */
  checksPerRound: number;
  /** (peer, share) pairs audited per round at most. */
  auditsPerRound: number;
}

export const DEFAULT_HEALTH: HealthConfig = {
  enabled: true,
  intervalMs: 3_600_000,
  repairThreshold: null,
  repairAfterMs: 0,
  leaseDays: 31,
  renewEveryMs: 24 * 3_600_000,
  gcIntervalMs: 3_600_000,
  checksPerRound: 500,
  auditsPerRound: 16
};

export const DEFAULT_CONFIG: PeerConfig = {
  listen: ['/ip4/0.0.0.0/tcp/7171', '/ip6/::/tcp/7171'],
  announce: [],
  bootstrap: [],
  mdns: true,
  lanOnly: true,
  offer: 10 * 2 ** 30,
  // 3-of-5 survives two lost peers at 1.67x expansion; happy=4 lets an upload finish in a swarm of
  // four other peers while still tolerating the loss of one holder beyond k.
  encoding: { k: 3, n: 5, happy: 4 },
  api: { host: '127.0.0.1', port: 0 },
  // ratio 1.0 is the symmetric scheme; the 1 GiB grace lets a new swarm bootstrap (src/fairness/constants.ts).
  fairness: { enabled: true, ratio: DEFAULT_RATIO, graceBytes: DEFAULT_GRACE_BYTES },
  relay: { server: false, client: 'auto', rate: RELAY_RATE, dailyBytes: RELAY_DAILY_BYTES, maxReservations: RELAY_MAX_RESERVATIONS },
  keepConnections: KEEP_CONNECTIONS,
  upnp: false,
  health: DEFAULT_HEALTH,
  store: { kind: 'disk' }
};

function strings(v: unknown, key: string): string[] {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new ConfigError(`config: "${key}" must be a list of strings`, { key });
  return v as string[];
}

export function validateEncoding(e: { k: number; n: number; happy: number }, where = 'encoding'): void {
  const { k, n, happy } = e;
  for (const [name, v] of Object.entries({ k, n, happy })) {
    if (!Number.isInteger(v)) throw new ConfigError(`${where}: "${name}" must be an integer`, { key: name });
  }
  if (k < 1 || n > 256 || k > n) throw new ConfigError(`${where}: need 1 <= k <= n <= 256 (got k=${k}, n=${n})`, { k, n });
  if (happy < k || happy > n) throw new ConfigError(`${where}: need k <= happy <= n (got k=${k}, happy=${happy}, n=${n})`, { k, n, happy });
}

/** Validate a parsed JSON object into a full configuration (missing keys take defaults). */
export function validateConfig(raw: unknown): PeerConfig {
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('config: expected a JSON object');
  const r = raw as Record<string, unknown>;
  const known = new Set(Object.keys(DEFAULT_CONFIG));
  for (const key of Object.keys(r)) if (!known.has(key)) throw new ConfigError(`config: unknown key "${key}" (known: ${[...known].join(', ')})`, { key });
  const c: PeerConfig = structuredClone(DEFAULT_CONFIG);
  if (r.listen !== undefined) c.listen = strings(r.listen, 'listen');
  if (r.announce !== undefined) c.announce = strings(r.announce, 'announce');
  if (r.bootstrap !== undefined) c.bootstrap = strings(r.bootstrap, 'bootstrap');
  if (r.mdns !== undefined) {
    if (typeof r.mdns !== 'boolean') throw new ConfigError('config: "mdns" must be true or false', { key: 'mdns' });
    c.mdns = r.mdns;
  }
  if (r.lanOnly !== undefined) {
    if (typeof r.lanOnly !== 'boolean') throw new ConfigError('config: "lanOnly" must be true or false', { key: 'lanOnly' });
    c.lanOnly = r.lanOnly;
  }
  if (r.upnp !== undefined) {
    if (typeof r.upnp !== 'boolean') throw new ConfigError('config: "upnp" must be true or false', { key: 'upnp' });
    c.upnp = r.upnp;
  }
  if (r.relay !== undefined) c.relay = validateRelay(r.relay);
  if (r.keepConnections !== undefined) {
    if (!Number.isSafeInteger(r.keepConnections) || (r.keepConnections as number) < 0 || (r.keepConnections as number) > 1024)
      throw new ConfigError('config: "keepConnections" must be an integer 0..1024', { key: 'keepConnections' });
    c.keepConnections = r.keepConnections as number;
  }
  if (r.offer !== undefined) {
    if (typeof r.offer === 'number' && Number.isSafeInteger(r.offer) && r.offer >= 0) c.offer = r.offer;
    else if (typeof r.offer === 'string') c.offer = parseSize(r.offer);
    else throw new ConfigError('config: "offer" must be a size such as "20GiB" or a byte count', { key: 'offer' });
  }
  if (r.encoding !== undefined) {
    const e = r.encoding as Record<string, unknown>;
    if (e == null || typeof e !== 'object') throw new ConfigError('config: "encoding" must be an object { k, n, happy }');
    c.encoding = { ...c.encoding, ...(e as object) } as PeerConfig['encoding'];
    validateEncoding(c.encoding, 'config: encoding');
  }
  if (r.api !== undefined) {
    const a = r.api as Record<string, unknown>;
    if (a == null || typeof a !== 'object') throw new ConfigError('config: "api" must be an object { host, port }');
    if (a.host !== undefined && typeof a.host !== 'string') throw new ConfigError('config: "api.host" must be a string');
    if (a.port !== undefined && (!Number.isInteger(a.port) || (a.port as number) < 0 || (a.port as number) > 65535))
      throw new ConfigError('config: "api.port" must be an integer 0..65535');
    if (a.allowedRoots !== undefined) {
      strings(a.allowedRoots, 'api.allowedRoots');
      if ((a.allowedRoots as string[]).some((p) => !isAbsolute(p)))
        throw new ConfigError('config: "api.allowedRoots" must hold absolute paths', { key: 'api.allowedRoots' });
    }
    for (const key of Object.keys(a))
      if (!['host', 'port', 'allowedRoots'].includes(key))
        throw new ConfigError(`config: unknown key "api.${key}" (known: host, port, allowedRoots)`, { key: `api.${key}` });
    c.api = { ...c.api, ...(a as object) } as PeerConfig['api'];
  }
  if (r.fairness !== undefined) c.fairness = validateFairness(r.fairness);
  if (r.health !== undefined) c.health = validateHealth(r.health, c.encoding);
  if (r.store !== undefined) c.store = validateStore(r.store);
  return c;
}

/** `relay: { server?, client?, rate?, dailyBytes?, maxReservations? }`; rate and dailyBytes may be sizes ("5MB"). */
export function validateRelay(raw: unknown): RelayConfig {
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError('config: "relay" must be an object { server, client, rate, dailyBytes, maxReservations }', { key: 'relay' });
  const rl = raw as Record<string, unknown>;
  const out: RelayConfig = { ...DEFAULT_CONFIG.relay };
  const known = Object.keys(DEFAULT_CONFIG.relay);
  for (const key of Object.keys(rl))
    if (!known.includes(key)) throw new ConfigError(`config: unknown key "relay.${key}" (known: ${known.join(', ')})`, { key: `relay.${key}` });
  if (rl.server !== undefined) {
    if (typeof rl.server !== 'boolean') throw new ConfigError('config: "relay.server" must be true or false', { key: 'relay.server' });
    out.server = rl.server;
  }
  if (rl.client !== undefined) {
    if (typeof rl.client !== 'boolean' && rl.client !== 'auto')
      throw new ConfigError('config: "relay.client" must be true, false or "auto"', { key: 'relay.client' });
    out.client = rl.client;
  }
  for (const key of ['rate', 'dailyBytes'] as const) {
    const v = rl[key];
    if (v === undefined) continue;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) out[key] = v;
    else if (typeof v === 'string') {
      try {
        out[key] = parseSize(v);
      } catch (e) {
        throw new ConfigError(`config: "relay.${key}": ${(e as Error).message}`, { key: `relay.${key}` });
      }
    } else throw new ConfigError(`config: "relay.${key}" must be a size such as "5MB" or a byte count (0: no cap)`, { key: `relay.${key}` });
  }
  if (rl.maxReservations !== undefined) {
    if (!Number.isSafeInteger(rl.maxReservations) || (rl.maxReservations as number) < 1 || (rl.maxReservations as number) > 65536)
      throw new ConfigError('config: "relay.maxReservations" must be an integer 1..65536', { key: 'relay.maxReservations' });
    out.maxReservations = rl.maxReservations as number;
  }
  return out;
}

/** `store: { kind: "disk" | "memory" }`. */
export function validateStore(raw: unknown): StoreChoice {
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('config: "store" must be an object { kind }', { key: 'store' });
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) if (key !== 'kind') throw new ConfigError(`config: unknown key "store.${key}" (known: kind)`, { key: `store.${key}` });
  if (r.kind === undefined) return { ...DEFAULT_CONFIG.store };
  if (!(STORE_KINDS as readonly unknown[]).includes(r.kind))
    throw new ConfigError(`config: "store.kind" must be one of ${STORE_KINDS.map((k) => `"${k}"`).join(', ')}`, { key: 'store.kind' });
  return { kind: r.kind as StoreChoice['kind'] };
}

/** `fairness: { enabled?, ratio?, graceBytes? }`; graceBytes may be a size string ("100MB"). */
export function validateFairness(raw: unknown): PeerConfig['fairness'] {
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError('config: "fairness" must be an object { enabled, ratio, graceBytes }', { key: 'fairness' });
  const f = raw as Record<string, unknown>;
  for (const key of Object.keys(f))
    if (!['enabled', 'ratio', 'graceBytes'].includes(key))
      throw new ConfigError(`config: unknown key "fairness.${key}" (known: enabled, ratio, graceBytes)`, { key: `fairness.${key}` });
  const out = { ...DEFAULT_CONFIG.fairness };
  if (f.enabled !== undefined) {
    if (typeof f.enabled !== 'boolean') throw new ConfigError('config: "fairness.enabled" must be true or false', { key: 'fairness.enabled' });
    out.enabled = f.enabled;
  }
  if (f.ratio !== undefined) {
    if (typeof f.ratio !== 'number' || !Number.isFinite(f.ratio) || f.ratio < 0 || f.ratio > MAX_RATIO)
      throw new ConfigError(`config: "fairness.ratio" must be a number 0..${MAX_RATIO} (bytes I store per byte stored for me)`, { key: 'fairness.ratio' });
    out.ratio = f.ratio;
  }
  if (f.graceBytes !== undefined) {
    if (typeof f.graceBytes === 'number' && Number.isSafeInteger(f.graceBytes) && f.graceBytes >= 0) out.graceBytes = f.graceBytes;
    else if (typeof f.graceBytes === 'string') {
      try {
        out.graceBytes = parseSize(f.graceBytes);
      } catch (e) {
        throw new ConfigError(`config: "fairness.graceBytes": ${(e as Error).message}`, { key: 'fairness.graceBytes' });
      }
    } else throw new ConfigError('config: "fairness.graceBytes" must be a size such as "1GiB" or a byte count', { key: 'fairness.graceBytes' });
  }
  return out;
}

/** Validate (partial) health settings over the defaults; the repair threshold must lie in k..n. */
export function validateHealth(raw: unknown, encoding: { k: number; n: number }, base: HealthConfig = DEFAULT_HEALTH): HealthConfig {
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('config: "health" must be an object');
  const r = raw as Record<string, unknown>;
  const h: HealthConfig = { ...base };
  for (const key of Object.keys(r))
    if (!(key in DEFAULT_HEALTH)) throw new ConfigError(`config: unknown key "health.${key}" (known: ${Object.keys(DEFAULT_HEALTH).join(', ')})`, { key });
  const ms = (key: 'intervalMs' | 'renewEveryMs' | 'gcIntervalMs', min: number) => {
    if (r[key] === undefined) return;
    if (!Number.isSafeInteger(r[key]) || (r[key] as number) < min)
      throw new ConfigError(`config: "health.${key}" must be an integer of at least ${min} (ms)`, { key });
    h[key] = r[key] as number;
  };
  ms('intervalMs', 100);
  ms('renewEveryMs', 100);
  ms('gcIntervalMs', 100);
  for (const key of ['checksPerRound', 'auditsPerRound', 'repairAfterMs'] as const) {
    if (r[key] === undefined) continue;
    if (!Number.isSafeInteger(r[key]) || (r[key] as number) < 0) throw new ConfigError(`config: "health.${key}" must be a non-negative integer`, { key });
    h[key] = r[key] as number;
  }
  if (r.enabled !== undefined) {
    if (typeof r.enabled !== 'boolean') throw new ConfigError('config: "health.enabled" must be true or false');
    h.enabled = r.enabled;
  }
  if (r.leaseDays !== undefined) {
    if (typeof r.leaseDays !== 'number' || !(r.leaseDays > 0 && r.leaseDays <= 400))
      throw new ConfigError('config: "health.leaseDays" must be a number of days in (0, 400]');
    h.leaseDays = r.leaseDays;
  }
  if (r.repairThreshold !== undefined) {
    const t = r.repairThreshold;
    if (t !== null && (!Number.isInteger(t) || (t as number) < encoding.k || (t as number) > encoding.n)) {
      throw new ConfigError(`config: "health.repairThreshold" must be null or an integer between k=${encoding.k} and n=${encoding.n}`, {
        key: 'repairThreshold'
      });
    }
    h.repairThreshold = t as number | null;
  }
  return h;
}

export async function readConfig(path: string): Promise<PeerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err: any) {
    if (err.code === 'ENOENT') throw new ConfigError(`no configuration at ${path}: run \`p2pbackup init\` first (or pass --home)`, { path, code: 'ENOENT' });
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err: any) {
    throw new ConfigError(`config ${path} is not valid JSON: ${err.message}`, { path });
  }
  return validateConfig(raw);
}

/** Write atomically (temp + rename) so a crash never leaves a half-written config. */
export async function writeConfig(path: string, config: PeerConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, path);
}

/** The directories the API accepts paths under (config `api.allowedRoots`, else home and temp). */
export function allowedRoots(config: PeerConfig): string[] {
  return config.api.allowedRoots ?? [homedir(), tmpdir()];
}

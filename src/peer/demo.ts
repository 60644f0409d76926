// `npm run demo`: the main job on an embedded default. A local swarm of storage peers on loopback
// (separate processes), a folder backed up through it (a generated sample tree, or the path given),
// two share holders killed with SIGKILL, and the folder restored on a FRESH device that has nothing but
// the folder's root cap, then compared with the original byte for byte (content, modes, symlinks).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile, symlink, readdir, lstat, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ApiClient } from '../api/client.ts';
import { DemoError } from './errors.ts';
import { homePaths } from './home.ts';
import { initHome } from './init.ts';
import { startSwarm, spawnDaemon } from './swarm.ts';

export interface DemoOptions {
  log: (line: string) => void;
  /** Folder to back up; default: a generated sample tree. */
  source?: string;
  dir?: string;
  peers?: number;
}

/** A small tree with every kind of entry: nested dirs, an empty dir and file, a multi-segment file, a symlink, odd names. */
async function makeSample(root: string): Promise<void> {
  await mkdir(join(root, 'photos', '2026'), { recursive: true });
  await mkdir(join(root, 'empty dir'), { recursive: true });
  await writeFile(join(root, 'README.txt'), 'A sample folder backed up by the p2pbackup demo.\n');
  await writeFile(join(root, 'empty.txt'), '');
  await writeFile(join(root, 'photos', '2026', 'beach.raw'), randomBytes(6 * 2 ** 20));
  for (let i = 0; i < 40; i++) await writeFile(join(root, 'photos', `thumb-${i}.jpg`), randomBytes(2_000 + i * 500));
  await writeFile(join(root, 'notes — ünïcödé.md'), '# notes\n');
  await writeFile(join(root, 'secret.key'), randomBytes(64), { mode: 0o600 });
  await symlink('README.txt', join(root, 'link-to-readme'));
}

/** path -> a digest of type, mode bits, content or link target. */
async function fingerprint(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name);
      const st = await lstat(p);
      const rel = relative(root, p);
      if (st.isDirectory()) {
        out.set(rel, `dir ${(st.mode & 0o7777).toString(8)}`);
        await walk(p);
      } else if (st.isSymbolicLink()) out.set(rel, `link ${await readlink(p)}`);
      else if (st.isFile())
        out.set(
          rel,
          `file ${(st.mode & 0o7777).toString(8)} ${createHash('sha256')
            .update(await readFile(p))
            .digest('hex')}`
        );
    }
  };
  await walk(root);
  return out;
}

export async function runDemo(o: DemoOptions): Promise<{ dir: string; rootCap: string; ok: boolean }> {
  const log = o.log;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'p2pbackup-demo-')));
  const peers = o.peers ?? 6;
  const t0 = performance.now();
  const secs = (t: number) => `${((performance.now() - t) / 1000).toFixed(2)} s`;
  const source = o.source ? resolve(o.source) : join(dir, 'sample');
  if (!o.source) await makeSample(source);
  const before = await fingerprint(source);

  log(`p2pbackup demo: ${peers} storage peers on loopback, one process each (homes under ${homePaths(join(dir, 'device-a')).swarmPeers})`);
  const swarm = await startSwarm({ dir: join(dir, 'device-a'), peers, allowAllPaths: true });
  let fresh: Awaited<ReturnType<typeof spawnDaemon>> | null = null;
  try {
    log(`swarm up in ${secs(t0)}; device A (the owner) has home ${swarm.info.client.home}`);
    const a = await ApiClient.at(swarm.info.client.apiUrl, homePaths(swarm.info.client.home));

    const t1 = performance.now();
    const folder = await a.operation('POST', '/api/backup', { path: source });
    const s = folder.lastStats;
    log(
      `backed up ${source}: ${s.files} files, ${s.dirs} dirs, ${s.symlinks} symlinks, ${(s.bytesTotal / 1e6).toFixed(1)} MB in ${secs(t1)} (encrypted, 3-of-5 shares on distinct peers)`
    );
    log(`snapshot cap: ${folder.lastSnapshot.cap}`);
    log(`root cap:     ${folder.rootCap}`);
    log('              (the root cap alone restores this folder on any device: keep it secret)');

    const t2 = performance.now();
    await a.operation('POST', '/api/backup', { path: source });
    log(`backed up again with nothing changed in ${secs(t2)} (no file read again, nothing new stored)`);

    const victims = [0, 1];
    for (const i of victims) await swarm.kill(i, 'SIGKILL');
    log(`killed storage peers ${victims.map((i) => `peer-${i}`).join(' and ')} with SIGKILL`);

    // A fresh device: a new home that knows only the swarm's surviving addresses and the root cap.
    const freshHome = join(dir, 'device-b');
    await initHome(freshHome, { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, offer: '0', bootstrap: swarm.info.peers.slice(2).flatMap((p) => p.addresses) });
    fresh = await spawnDaemon(freshHome);
    const b = await ApiClient.at(fresh.member.apiUrl, homePaths(freshHome));
    const target = join(dir, 'restored');
    const t3 = performance.now();
    const r = await b.operation('POST', '/api/restore', { cap: folder.rootCap, target });
    log(`restored on fresh device B (home ${freshHome}) into ${target}: ${r.stats.files} files in ${secs(t3)}`);

    const after = await fingerprint(target);
    const same = before.size === after.size && [...before].every(([k, v]) => after.get(k) === v);
    log(same ? `verified: ${before.size} entries identical (content, modes, symlinks)` : 'MISMATCH between the original and the restored folder');
    if (!same) throw new DemoError('the restored folder differs from the original');
    log(`total ${secs(t0)}. Everything lives under ${dir} (remove it when done).`);
    return { dir, rootCap: folder.rootCap, ok: same };
  } finally {
    if (fresh) {
      fresh.child.kill('SIGTERM');
      await new Promise((res) => fresh!.child.once('exit', res));
    }
    await swarm.stop();
  }
}

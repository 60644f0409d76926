// `npm run demo`: the main job on an embedded default. A local swarm of storage peers on loopback
// (separate processes), a generated sample file stored k-of-n through it, two holders killed with
// SIGKILL, and the file fetched back and checked byte for byte.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { P2PBackupError } from '../common/errors.ts';
import { ApiClient } from '../cli/api-client.ts';
import { homePaths } from './home.ts';
import { startSwarm } from './swarm.ts';

export interface DemoOptions {
  log: (line: string) => void;
  dir?: string;
  peers?: number;
  /** Bytes of the sample file. */
  size?: number;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function runDemo(o: DemoOptions): Promise<{ dir: string; cap: string; ok: boolean }> {
  const log = o.log;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'p2pbackup-demo-')));
  const peers = o.peers ?? 6;
  const t0 = performance.now();
  const ms = (t: number) => `${((performance.now() - t) / 1000).toFixed(2)} s`;
  log(`p2pbackup demo: ${peers} storage peers on loopback, each its own process, homes under ${join(dir, 'peers')}`);
  const swarm = await startSwarm({ dir, peers });
  try {
    log(`swarm up in ${ms(t0)}; client home ${dir} (API ${swarm.info.client.apiUrl})`);
    const token = (await readFile(homePaths(dir).apiToken, 'utf8')).trim();
    const api = new ApiClient(swarm.info.client.apiUrl, token);

    const sample = join(dir, 'sample.bin');
    const bytes = randomBytes(o.size ?? 24 * 2 ** 20);
    await writeFile(sample, bytes);
    const t1 = performance.now();
    const put = await api.json<{ cap: string; placements: Record<string, string[]>; happiness: number }>('POST', '/api/files', { path: sample });
    log(`stored ${sample} (${(bytes.length / 2 ** 20).toFixed(1)} MiB) in ${ms(t1)}: shares on ${put.happiness} distinct peers`);
    log(`read cap: ${put.cap}`);

    // Kill two peers that hold shares, the hard way.
    const holders = new Set(Object.values(put.placements).flat());
    const victims = swarm.info.peers.map((m, i) => ({ m, i })).filter(({ m }) => holders.has(m.peerId)).slice(0, 2);
    for (const v of victims) await swarm.kill(v.i, 'SIGKILL');
    log(`killed ${victims.length} share holders with SIGKILL: ${victims.map((v) => `peer-${v.i}`).join(', ')}`);

    const t2 = performance.now();
    const res = await api.request('GET', `/api/files/${encodeURIComponent(put.cap)}`);
    const back = new Uint8Array(await res.arrayBuffer());
    const ok = sha256(back) === sha256(bytes);
    log(`fetched it back in ${ms(t2)} from the survivors: ${ok ? 'byte-identical' : 'MISMATCH'} (sha256 ${sha256(back).slice(0, 16)}…)`);
    if (!ok) throw new P2PBackupError('ERR_DEMO', 'the restored bytes differ from the original');
    log(`total ${ms(t0)}. Everything lives under ${dir} (swarm.json lists the processes; remove the folder when done).`);
    return { dir, cap: put.cap, ok };
  } finally {
    await swarm.stop();
  }
}


// Real daemons (one process each) on loopback: put through the swarm, lose holders to SIGKILL, get back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DAEMON_ENV, DAEMON_NODE_FLAGS, startSwarm, type Swarm } from '../../src/peer/swarm.ts';
import { spawn } from 'node:child_process';
import { apiFor, BIN, cli, exited, tempDir } from './helpers.ts';
import type { ApiClient } from '../../src/api/client.ts';
import { download } from '../../src/client/index.ts';
import { parseCap, type PackCap } from '../../src/caps/index.ts';
import { DEFAULT_SEGMENT_SIZE } from '../../src/format/constants.ts';
import { geometry } from '../../src/format/geometry.ts';
import { homePaths } from '../../src/peer/home.ts';
import { initHome } from '../../src/peer/init.ts';
import { readConfig } from '../../src/peer/config.ts';
import { createPeer } from '../../src/peer/peer.ts';
import { assertOneFileDirs, makeOneFileDirs } from '../backup/tree.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let swarm: Swarm;
let api: ApiClient;
let tmp: { dir: string; cleanup: () => Promise<void> };

before(async () => {
  tmp = await tempDir();
  swarm = await startSwarm({ dir: tmp.dir, peers: 6 });
  api = await apiFor(tmp.dir, swarm.info.client.apiUrl);
});
after(async () => {
  await swarm?.stop();
  await tmp?.cleanup();
});

async function put(bytes: Uint8Array, name: string) {
  const path = join(tmp.dir, name);
  await writeFile(path, bytes);
  return api.json<{ cap: string; pack: string; storageIndex: string; placements: Record<string, string[]> }>('POST', '/api/files', { path });
}
async function get(cap: string): Promise<Uint8Array> {
  const res = await api.request('GET', `/api/files/${encodeURIComponent(cap)}`);
  return new Uint8Array(await res.arrayBuffer());
}
const peerIndex = (id: string) => swarm.info.peers.findIndex((p) => p.peerId === id);

test('every daemon runs with the node flags for bulk transfers (a young generation of a fixed, small size)', async () => {
  assert.ok(DAEMON_NODE_FLAGS.includes('--min-semi-space-size=4'));
  assert.ok(DAEMON_NODE_FLAGS.includes('--max-semi-space-size=4'));
  assert.ok(DAEMON_NODE_FLAGS.includes('--heap-growing-percent=100'));
  for (const m of [swarm.info.client, ...swarm.info.peers]) {
    const argv = (await readFile(`/proc/${m.pid}/cmdline`, 'utf8')).split('\0');
    const at = argv.indexOf('daemon');
    for (const flag of DAEMON_NODE_FLAGS) {
      const i = argv.indexOf(flag);
      assert.ok(i > 0 && i < at, `${flag} is a node flag of daemon ${m.pid} (before the script): ${argv.join(' ')}`);
    }
  }
});

test('every daemon runs with glibc returning large freed buffers to the system (DAEMON_ENV)', async () => {
  assert.equal(DAEMON_ENV.MALLOC_MMAP_THRESHOLD_, '1048576');
  assert.equal(DAEMON_ENV.MALLOC_ARENA_MAX, '2');
  for (const m of [swarm.info.client, ...swarm.info.peers]) {
    const env = (await readFile(`/proc/${m.pid}/environ`, 'utf8')).split('\0');
    for (const [k, v] of Object.entries(DAEMON_ENV)) assert.ok(env.includes(`${k}=${v}`), `${k}=${v} in the environment of daemon ${m.pid}`);
  }
});

// Files under 512 KiB are one chunk in one pack: its placements are the file's.
test('put places one share per distinct peer and get returns the same bytes', async () => {
  const bytes = randomBytes(400_000 + 123);
  const r = await put(bytes, 'a.bin');
  assert.match(r.cap, /^p2pb:/);
  assert.equal(Object.keys(r.placements).length, 5);
  const holders = Object.values(r.placements).flat();
  assert.equal(new Set(holders).size, 5, 'five shares on five distinct peers');
  assert.ok(!holders.includes(swarm.info.client.peerId), 'the client keeps no share of its own file');
  assert.equal(sha(await get(r.cap)), sha(bytes));
});

test('after SIGKILL of n-k holders the file still comes back; a restarted peer serves its shares again', async () => {
  const bytes = randomBytes(300_000 + 7);
  const r = await put(bytes, 'b.bin');
  const holders = Object.values(r.placements).flat().map(peerIndex);
  const [v1, v2, v3] = holders;
  await swarm.kill(v1);
  await swarm.kill(v2);
  assert.equal(sha(await get(r.cap)), sha(bytes), 'any 3 of 5 suffice');
  // Bring v1 back, then kill a third original holder: now v1's share is needed.
  await swarm.start(v1);
  await swarm.kill(v3);
  assert.equal(sha(await get(r.cap)), sha(bytes), 'the restarted peer served its share from disk');
  // With only two holders alive, the download must fail and say how many shares it found.
  await swarm.kill(v1);
  await assert.rejects(get(r.cap), (err: any) => err.code === 'ERR_NOT_ENOUGH_SHARES' && /need 3/.test(err.message));
  for (const i of [v1, v2, v3]) await swarm.start(i);
});

test('forged blocks from lying peers are read, detected, skipped, and the file comes from honest ones', async () => {
  const bytes = randomBytes(200_000 + 99);
  const r = await put(bytes, 'c.bin');
  // The file is one chunk in one pack. The holders of its shares 0 and 1 now lie: bytes flipped inside the
  // first block of their share files on disk (their daemons serve them). A download reads data shares first,
  // so it must go through both.
  const pack = parseCap(r.pack) as PackCap;
  const g = geometry({ k: 3, n: 5, segmentSize: DEFAULT_SEGMENT_SIZE, fileSize: pack.size });
  const liars = ['0', '1'].map((s) => ({ share: Number(s), peer: r.placements[s][0] }));
  for (const { share, peer } of liars) {
    const file = join(swarm.info.peers[peerIndex(peer)].home, 'store', 'shares', r.storageIndex.slice(0, 2), r.storageIndex, String(share));
    const b = await readFile(file);
    for (let j = 0; j < 64; j++) b[g.blocksOffset + 100 + j] ^= 0xff;
    await writeFile(file, b);
  }
  // Through the client daemon's API: the right bytes.
  assert.equal(sha(await get(r.cap)), sha(bytes));
  // Through an in-process light node joined to the swarm, whose decoder reports what it saw.
  const home = join(tmp.dir, 'reader');
  await initHome(home, { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, offer: '0', bootstrap: swarm.info.peers.flatMap((p) => p.addresses) });
  const reader = await createPeer({ home, config: await readConfig(homePaths(home).config), readOnly: true, folders: false });
  try {
    const h = await download(pack, reader.finder);
    const chunks: Uint8Array[] = [];
    for await (const c of h.stream) chunks.push(c);
    assert.equal(Buffer.concat(chunks).length, pack.size, 'the whole pack, verified block by block');
    const { report } = h.stream;
    assert.deepEqual(
      report.corrupt.map((e) => [e.details.share, e.details.region, e.details.segment]).sort(),
      [
        [0, 'block', 0],
        [1, 'block', 0]
      ],
      'both forged blocks were read and found out'
    );
    // Segment 0 came from the parity shares 3 and 4 with share 2: an honest swarm needs only 0, 1 and 2.
    assert.ok(
      [2, 3, 4].every((s) => report.sharesUsed.includes(s)),
      `parity stood in for the forged blocks: used ${report.sharesUsed}`
    );
  } finally {
    await reader.stop();
  }
});

test('the CLI puts and gets through the client daemon', async () => {
  const bytes = randomBytes(100_000);
  const src = join(tmp.dir, 'cli.bin');
  await writeFile(src, bytes);
  const p = await cli(['--home', tmp.dir, 'put', src]);
  assert.equal(p.code, 0, p.stderr);
  const cap = p.stdout.trim();
  assert.match(cap, /^p2pb:\S+$/, 'stdout carries only the cap');
  const out = join(tmp.dir, 'cli.out');
  const g = await cli(['--home', tmp.dir, 'get', cap, '-o', out]);
  assert.equal(g.code, 0, g.stderr);
  assert.equal(sha(await readFile(out)), sha(bytes));
  const bad = await cli(['--home', tmp.dir, 'get', cap.slice(0, -3) + 'aaa']);
  assert.equal(bad.code, 4, 'a mistyped cap exits 4');
  const st = await cli(['--home', tmp.dir, '--json', 'status']);
  assert.equal(st.code, 0);
  assert.equal(JSON.parse(st.stdout).api.url, swarm.info.client.apiUrl);
});

test('a backup cancelled midway ends cancelled, and the next backup of that folder completes and restores', async () => {
  const src = await makeOneFileDirs(join(tmp.dir, 'cancel-src'), 2000);
  // Ctrl-C on `p2pbackup backup` (SIGINT to the command; its connection closes) cancels the daemon's backup.
  // Before the fix it ran on to 'done'; before 812882f a cancelled backup never ended: the blobs in its open pack
  // waited for a flush, and the daemon's packer kept the cancelled signal for every later backup.
  const child = spawn(process.execPath, [BIN, '--home', tmp.dir, 'backup', '-v', src], { stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  const onData = (d: Buffer) => {
    printed += d;
    if (printed.includes('f.txt') && child.exitCode === null && !child.killed) child.kill('SIGINT');
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const how = await exited(child);
  assert.equal(how.signal ?? how.code, 'SIGINT', `the command was interrupted, not done: ${printed.slice(-300)}`);
  let ended: any;
  for (let i = 0; i < 300 && !ended; i++) {
    const { operations } = await api.json<{ operations: any[] }>('GET', '/api/operations');
    ended = operations.find((o) => o.kind === 'backup' && o.folder === src && o.state !== 'running');
    if (!ended) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(ended?.state, 'cancelled', 'the cancelled backup ended within 30 s');
  assert.deepEqual([ended.error.code, ended.error.message], ['ERR_ABORTED', 'the client closed the connection']);
  const b = await cli(['--home', tmp.dir, 'backup', src]);
  assert.equal(b.code, 0, b.stderr);
  const out = join(tmp.dir, 'cancel-out');
  const cap = /^snapshot (p2pb:\S+)/m.exec(b.stdout)?.[1];
  assert.ok(cap, b.stdout);
  const r = await cli(['--home', tmp.dir, 'restore', cap, out]);
  assert.equal(r.code, 0, r.stderr);
  await assertOneFileDirs(out, [0, 1999]);
});

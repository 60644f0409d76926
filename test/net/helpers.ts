// Test helpers: real nodes on 127.0.0.1 with real DiskStores in temp dirs, mDNS off.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { DiskStore } from '../../src/store/index.ts';
import { encodePack, uebOfShare } from '../../src/format/index.ts';
import { createNode, loadOrCreatePeerKey } from '../../src/net/index.ts';
import type { NodeInit, P2PNode } from '../../src/net/index.ts';

export interface TestPeer {
  node: P2PNode;
  store: DiskStore;
  home: string;
  stop(): Promise<void>;
  restart(extra?: Partial<NodeInit>): Promise<TestPeer>;
}

export async function makePeer(extra: Partial<NodeInit> = {}, home?: string): Promise<TestPeer> {
  const dir = home ?? (await mkdtemp(join(tmpdir(), 'p2pb-net-')));
  const store = await DiskStore.open(dir, { offer: '64MiB' });
  const node = await createNode({
    privateKey: await loadOrCreatePeerKey(join(dir, 'peer.key')),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    store,
    ...extra
  });
  const peer: TestPeer = {
    node,
    store,
    home: dir,
    async stop() {
      await node.stop();
      await store.close();
    },
    async restart(more = {}) {
      await peer.stop();
      return makePeer({ ...extra, ...more }, dir);
    }
  };
  return peer;
}

export async function removeHome(p: TestPeer): Promise<void> {
  await rm(p.home, { recursive: true, force: true });
}

/**
 * A storage peer (makePeer(`extra`)) in a process of its own, for tests that freeze it (SIGSTOP) or kill it: its
 * first listen address and the process. Its home is made here and removed after the test (`t.after`), with the
 * process killed first: it dies by SIGKILL, so it cannot clean up after itself.
 */
export async function peerProcess(t: { after(fn: () => Promise<void>): void }, extra: Partial<NodeInit> = {}): Promise<{ addr: string; child: ChildProcess }> {
  const home = await mkdtemp(join(tmpdir(), 'p2pb-net-'));
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
    const { makePeer } = await import(${JSON.stringify(new URL('./helpers.ts', import.meta.url).href)});
    const p = await makePeer(${JSON.stringify(extra)}, ${JSON.stringify(home)});
    console.log(p.node.multiaddrs()[0].toString());
  `
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(async () => {
    child.kill('SIGKILL'); // also ends a stopped process
    await exited;
    await rm(home, { recursive: true, force: true });
  });
  const addr = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(d.trim().split('\n')[0]));
    child.once('exit', (c) => reject(new Error(`the peer process exited (${c})`)));
  });
  return { addr, child };
}

export interface TestPack {
  si: Uint8Array;
  ueb: Uint8Array;
  shares: Uint8Array[];
}

/**
 * A real pack of `bytes` random bytes, 1-of-`n`, so each share is a little over `bytes`: storage servers take only
 * shares whose bytes their pack's UEB commits to (src/format/check.ts), so tests upload real ones.
 */
export function testPack(bytes: number, n = 6): TestPack {
  const enc = encodePack(randomBytes(bytes), { k: 1, n });
  return { si: enc.storageIndex, ueb: uebOfShare(enc.shares[0]), shares: enc.shares };
}

/**
 * Send `data` from `a` to `b` over one stream of `protocol` (1 MiB sends, waiting on drain); resolves with the
 * sha256 (hex) of what `b` read until the stream closed.
 */
export async function streamThrough(a: TestPeer, b: TestPeer, protocol: string, data: Uint8Array): Promise<string> {
  const got = new Promise<string>((resolve, reject) => {
    void b.node.libp2p.handle(protocol, async (stream) => {
      try {
        const h = createHash('sha256');
        for await (const chunk of stream) h.update(chunk.subarray());
        resolve(h.digest('hex'));
        await stream.close();
      } catch (e) {
        reject(e);
      }
    });
  });
  const stream = await a.node.libp2p.dialProtocol(b.node.multiaddrs()[0], protocol);
  for (let o = 0; o < data.length; o += 1 << 20) if (!stream.send(data.subarray(o, o + (1 << 20)))) await stream.onDrain();
  await stream.close();
  return got;
}

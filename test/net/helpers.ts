// Test helpers: real nodes on 127.0.0.1 with real DiskStores in temp dirs, mDNS off.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskStore } from '../../src/store/index.ts';
import { createNode, loadOrCreatePeerKey } from '../../src/net/index.ts';
import type { NodeInit, P2PNode } from '../../src/net/index.ts';

export interface TestPeer { node: P2PNode; store: DiskStore; home: string; stop(): Promise<void>; restart(extra?: Partial<NodeInit>): Promise<TestPeer> }

export async function makePeer(extra: Partial<NodeInit> = {}, home?: string): Promise<TestPeer> {
  const dir = home ?? await mkdtemp(join(tmpdir(), 'p2pb-net-'));
  const store = await DiskStore.open(dir, { offer: '64MiB' });
  const node = await createNode({ privateKey: await loadOrCreatePeerKey(join(dir, 'peer.key')), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, store, ...extra });
  const peer: TestPeer = {
    node, store, home: dir,
    async stop() { await node.stop(); await store.close(); },
    async restart(more = {}) { await peer.stop(); return makePeer({ ...extra, ...more }, dir); },
  };
  return peer;
}

export async function removeHome(p: TestPeer): Promise<void> {
  await rm(p.home, { recursive: true, force: true });
}

// The network layer: libp2p node (TCP/Noise/Yamux, private Kad-DHT, pnet), the storage protocol server and client.
// const node = await createNode({ privateKey: await loadOrCreatePeerKey(homePaths(home).peerKey), store, bootstrap: [addr] });
// await node.storage(peerId).writeShare(si, 0, bytes, bytes.length);
export * from './constants.ts';
export * from './errors.ts';
export { createNode, siToCid, rankByDistance, shouldAnnounce } from './node.ts';
export type { NodeInit, P2PNode } from './node.ts';
export { StorageClient } from './client.ts';
export type { ByteRange, OpOptions, RemoteStats, StorageClientOptions, WriteProgress, WriteShareOptions, WriteShareResult, PutSlotOptions, PutSlotResult } from './client.ts';
export { serveStorage } from './server.ts';
export type { StorageServerOptions } from './server.ts';
export { loadOrCreatePeerKey, generateSwarmKey, parseSwarmKey } from './keys.ts';
export { encodeFrame, decodeBody, FrameReader, validate } from './frame.ts';
export type { Frame, Header } from './frame.ts';

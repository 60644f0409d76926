// The network layer: libp2p node (TCP/Noise/Yamux, private Kad-DHT, pnet), the storage protocol server and client.
// const node = await createNode({ privateKey: await loadOrCreatePeerKey(homePaths(home).peerKey), store, bootstrap: [addr] });
// await node.storage(peerId).writeShare(si, 0, bytes, bytes.length);
export * from './constants.ts';
export * from './errors.ts';
export { createNode, siToCid, rankByDistance, shouldAnnounce } from './node.ts';
export type { NodeInit, P2PNode } from './node.ts';
export { classify, bestConnection, createPathSelector } from './paths.ts';
export type { PathInfo, PathKind, PathSelector } from './paths.ts';
export { serveDialback, requestDialback, dialbackTargets, tcpAddr, formatTcp, DialbackRefusedError } from './dialback.ts';
export type { DialbackResult, TcpAddr } from './dialback.ts';
export { createReachability } from './reachability.ts';
export type { Reachability, ReachabilityReport, ReachWay, AddressKind } from './reachability.ts';
export { createRelayServer, reserveOn, parseHopStatus, RelayBudgetError } from './relay.ts';
export type { RelayServer, RelayServerInit, RelayStats } from './relay.ts';
export { StorageClient } from './client.ts';
export type {
  ByteRange,
  OpOptions,
  RemoteStats,
  StorageClientOptions,
  WriteProgress,
  WriteShareOptions,
  WriteShareResult,
  PutSlotOptions,
  PutSlotResult
} from './client.ts';
export { serveStorage } from './server.ts';
export type { StorageServerOptions } from './server.ts';
export { loadOrCreatePeerKey, generateSwarmKey, parseSwarmKey } from './keys.ts';
export { encodeFrame, decodeBody, FrameReader, validate } from './frame.ts';
export type { Frame, Header } from './frame.ts';

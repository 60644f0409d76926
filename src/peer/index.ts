// Composition: one running peer (node + share store + client) with its home folder and configuration,
// device recovery, and local swarms of daemon processes for demos and tests (the daemon itself, which
// serves a peer over the API, is src/daemon/).
// const peer = await createPeer({ home, config: await readConfig(homePaths(home).config) });
// const swarm = await startSwarm({ dir: '/tmp/sw', peers: 5 }); await swarm.stop();
export { createPeer, type Peer, type PeerInit } from './peer.ts';
export { initHome, isInitialized, type InitOptions } from './init.ts';
export { readConfig, writeConfig, validateConfig, DEFAULT_CONFIG, type PeerConfig } from './config.ts';
export { ConfigError, AlreadyInitializedError, RecoveryInvalidError, RecoveryNotFoundError, DaemonStartError, NotAFileError, DemoError } from './errors.ts';
export { recoverHome, type RecoverOptions } from './recovery.ts';
export { checkCap, checkDeep, type DeepCheckReport, type DeepCheckOptions } from './check.ts';
export { resolveHome, homePaths } from './home.ts';
export { startSwarm, spawnDaemon, type Swarm, type SwarmInfo, type SwarmMember } from './swarm.ts';
export { runDemo } from './demo.ts';
export { storeServer, type StoreServerInit, type ServedStore } from './store-server.ts';

// Composition: one running peer (node + share store + client) with its home folder and configuration,
// the daemon that serves it over the local API, and local swarms of daemons for demos and tests.
// const peer = await createPeer({ home, config: await readConfig(homePaths(home).config) });
// const swarm = await startSwarm({ dir: '/tmp/sw', peers: 5 }); await swarm.stop();
export { createPeer, type Peer, type PeerInit } from './peer.ts';
export { runDaemon, type DaemonOptions } from './daemon.ts';
export { initHome, isInitialized, type InitOptions } from './init.ts';
export { readConfig, writeConfig, validateConfig, DEFAULT_CONFIG, ConfigError, type PeerConfig } from './config.ts';
export { resolveHome, homePaths } from './home.ts';
export { startSwarm, spawnDaemon, type Swarm, type SwarmInfo, type SwarmMember } from './swarm.ts';
export { runDemo } from './demo.ts';
export { storeServer, type StoreServerInit, type ServedStore } from './store-server.ts';

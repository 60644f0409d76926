// Spawn the adversarial peer (./peer.ts) as its own process and drive it: switch its behaviour, run an
// attack from it, read its counters. Use it like a swarm peer: bootstrap it to the swarm, then kill it.
// const adv = await spawnAdversary({ home, bootstrap: [addr], behaviour: { existsWithoutStoring: true } });
// await adv.set({ trickle: { ops: ['read'], bytes: 64, everyMs: 200 } }); const s = await adv.stats();
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_FLAGS } from '../../src/peer/swarm.ts';
import type { AdversaryInit, AdversaryStats, Attack, Behaviour } from './types.ts';

export type { AdversaryInit, AdversaryStats, Attack, Behaviour } from './types.ts';

const ENTRY = fileURLToPath(new URL('./peer.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;

export interface Adversary {
  readonly peerId: string;
  readonly addresses: string[];
  /** Its first address (with /p2p/<id>), for --bootstrap lists. */
  readonly addr: string;
  readonly child: ChildProcess;
  set(b: Behaviour): Promise<void>;
  attack<T = any>(a: Attack): Promise<T>;
  stats(): Promise<AdversaryStats>;
  dial(addr: string): Promise<void>;
  /** Stop cleanly (node stopped, store closed). */
  stop(): Promise<void>;
  /** SIGKILL, for fault tests. */
  kill(): Promise<void>;
}

export async function spawnAdversary(init: AdversaryInit): Promise<Adversary> {
  const child = fork(ENTRY, [JSON.stringify(init)], {
    execPath: process.execPath,
    execArgv: [...DAEMON_NODE_FLAGS],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let next = 1;
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  const ready = new Promise<{ peerId: string; addresses: string[] }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the adversary did not start')), START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the adversary exited (${code})`));
    });
    child.on('message', (m: any) => {
      if (m.ready) {
        clearTimeout(timer);
        resolve(m.ready);
        return;
      }
      const w = waiting.get(m.id);
      if (!w) return;
      waiting.delete(m.id);
      if (m.error) w.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else w.resolve(m.result);
    });
  });
  child.once('exit', () => {
    for (const w of waiting.values()) w.reject(new Error('the adversary exited'));
    waiting.clear();
  });
  const info = await ready;
  const call = (msg: Record<string, unknown>) =>
    new Promise<any>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      child.send({ id, ...msg });
    });
  return {
    peerId: info.peerId,
    addresses: info.addresses,
    addr: info.addresses[0].includes('/p2p/') ? info.addresses[0] : `${info.addresses[0]}/p2p/${info.peerId}`,
    child,
    set: (behaviour) => call({ op: 'set', behaviour }),
    attack: (attack) => call({ op: 'attack', attack }),
    stats: () => call({ op: 'stats' }),
    dial: (addr) => call({ op: 'dial', addr }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await Promise.race([call({ op: 'stop' }).catch(() => {}), exited]);
      await exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  };
}

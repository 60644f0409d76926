// The API end to end: a real client daemon joined to five storage peers on loopback, one process each.
// A folder backed up with its live state on the event stream, browsed, restored and forgotten; files put
// and fetched; the metrics (the health loop's queue among them); a read-only light node browsing by
// read cap. Every route's auth, schemas and bad inputs are tested against a stub in routes.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSwarm, spawnDaemon, type Swarm } from '../../src/peer/swarm.ts';
import { initHome } from '../../src/peer/init.ts';
import { apiFor, tempDir } from '../integration/helpers.ts';

const HEALTH = { intervalMs: 1000, checksPerRound: 1, auditsPerRound: 0 };
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let swarm: Swarm;
let tmp: { dir: string; cleanup: () => Promise<void> };
let url: string;
let auth: Record<string, string>;

before(async () => {
  tmp = await tempDir('p2pb-api-');
  // The health loop checks one file per second: its queue (files left in the pass) is seen in the metrics.
  swarm = await startSwarm({ dir: tmp.dir, peers: 5, env: { P2PBACKUP_HEALTH: JSON.stringify(HEALTH) } });
  url = swarm.info.client.apiUrl;
  auth = { authorization: `Bearer ${(await apiFor(tmp.dir, url)).token}` };
});
after(async () => {
  await swarm?.stop();
  await tmp?.cleanup();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth) {
  const res = await fetch(url + path, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  });
  const type = res.headers.get('content-type') ?? '';
  const text = type.startsWith('application/json') || type.startsWith('application/x-ndjson') ? await res.text() : null;
  const json =
    text === null
      ? null
      : type.startsWith('application/json')
        ? JSON.parse(text)
        : text
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l));
  return { status: res.status, json: json as any, res };
}
/** The last line of an NDJSON operation: { result } or { error }. */
const last = (lines: any[]) => lines.at(-1);
const expectError = (r: { status: number; json: any }, status: number, code: string | RegExp) => {
  assert.equal(r.status, status, JSON.stringify(r.json));
  if (typeof code === 'string') assert.equal(r.json.code, code);
  else assert.match(r.json.code, code);
  assert.equal(typeof r.json.message, 'string');
};

/** Read SSE messages until `until` is satisfied (or time runs out). */
async function collectEvents(until: (events: any[]) => boolean, timeoutMs: number, started: () => Promise<unknown>) {
  const controller = new AbortController();
  const res = await fetch(`${url}/api/events`, { headers: auth, signal: controller.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/event-stream/);
  const events: any[] = [];
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const reading = (async () => {
    let buf = '';
    try {
      for await (const chunk of res.body as any as AsyncIterable<Uint8Array>) {
        buf += Buffer.from(chunk).toString('utf8');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) events.push(JSON.parse(data.slice(6)));
        }
        if (until(events)) break;
      }
    } catch {}
  })();
  const result = await started();
  await reading;
  clearTimeout(timer);
  controller.abort();
  return { events, result };
}

let source: string;
let folder: any;

test('folders: backup with live state on the event stream', async () => {
  source = join(tmp.dir, 'src');
  await mkdir(join(source, 'sub'), { recursive: true });
  await writeFile(join(source, 'a.txt'), 'hello api\n');
  await writeFile(join(source, 'sub', 'big.bin'), randomBytes(300_000));

  expectError(await call('POST', '/api/folders', { path: join(tmp.dir, 'missing') }), 400, 'ERR_USAGE');

  // Watch the event stream while the backup runs: the folder goes uploading -> in-sync.
  const { events, result } = await collectEvents(
    (ev) => ev.some((e) => e.type === 'sync:folder:state' && e.state === 'in-sync'),
    120_000,
    () => call('POST', '/api/backup', { path: source })
  );
  const done = last((result as any).json);
  assert.ok(done.result, JSON.stringify(done));
  folder = done.result;
  assert.equal(folder.state, 'in-sync');
  assert.match(folder.rootCap, /^p2pb:mr:/);
  assert.ok(!JSON.stringify(folder).includes('p2pb:mw:'), 'never the write cap');
  const states = events.filter((e) => e.type === 'sync:folder:state' && e.path === source).map((e) => e.state);
  assert.ok(states.includes('uploading'), `states seen: ${states}`);
  assert.ok(states.includes('in-sync'), `states seen: ${states}`);
  const status = events.filter((e) => e.type === 'backup:backup:status').at(-1);
  assert.ok(status, 'status events on the stream too');
  assert.equal(status.files, 2);
  assert.equal(status.totalFiles, 2, 'the scan counted the files to do');
  assert.equal(status.totalBytes, 300_000 + 'hello api\n'.length);
  assert.equal(status.etaSeconds, 0);
  assert.ok(!events.some((e) => e.type === 'backup:backup:file'), 'no per-file events on the stream');
  assert.ok(!(result as any).json.some((l: any) => l.event?.type === 'backup:backup:file'), 'per-file lines only when asked for (verbose)');

  const list = await call('GET', '/api/folders');
  assert.equal(list.status, 200);
  assert.equal(list.json.folders[0].path, source);
  const st = await call('GET', '/api/status');
  assert.equal(st.json.folders[0].state, 'in-sync');
  assert.equal(st.json.readOnly, false);
});

test('snapshots, ls, diff, snapshot-file download, restore, forget', async () => {
  const snaps = await call('GET', `/api/snapshots?of=${encodeURIComponent(folder.rootCap)}`);
  assert.equal(snaps.status, 200);
  assert.equal(snaps.json.snapshots.length, 1);
  const snap = snaps.json.snapshots[0].cap;
  const ls = await call('GET', `/api/ls?cap=${encodeURIComponent(folder.rootCap)}`);
  assert.deepEqual(ls.json.entries.map((e: any) => e.name).sort(), ['a.txt', 'sub']);
  const sub = await call('GET', `/api/ls?${new URLSearchParams({ cap: snap, path: 'sub' })}`);
  assert.equal(sub.json.entries[0].name, 'big.bin');
  expectError(await call('GET', `/api/ls?${new URLSearchParams({ cap: snap, path: 'nope' })}`), 404, 'ERR_BACKUP_PATH_NOT_FOUND');
  const diff = await call('GET', `/api/diff?${new URLSearchParams({ a: snap, b: folder.rootCap })}`);
  assert.equal(diff.status, 200);

  const file = await fetch(`${url}/api/snapshot-file?${new URLSearchParams({ cap: folder.rootCap, path: 'sub/big.bin' })}`, { headers: auth });
  assert.equal(file.status, 200);
  assert.match(file.headers.get('content-disposition')!, /filename="big.bin"/);
  assert.equal(sha(new Uint8Array(await file.arrayBuffer())), sha(await readFile(join(source, 'sub', 'big.bin'))));
  expectError(await call('GET', `/api/snapshot-file?${new URLSearchParams({ cap: snap, path: 'sub' })}`), 400, 'ERR_NOT_A_FILE');

  const target = join(tmp.dir, 'restored');
  const r = await call('POST', '/api/restore', { cap: folder.rootCap, target, path: 'a.txt' });
  assert.equal(r.status, 200);
  const end = last(r.json);
  assert.equal(end.result.stats.files, 1, JSON.stringify(end));
  const st = r.json.filter((l: any) => l.event?.type === 'backup:restore:status').at(-1)?.event;
  assert.deepEqual([st?.files, st?.totalFiles, st?.bytes, st?.totalBytes], [1, 1, 10, 10], 'restore reports progress with totals (the walked path)');
  assert.ok(!r.json.some((l: any) => l.event?.type === 'backup:restore:file'), 'no per-file lines unless asked');
  const v = await call('POST', '/api/restore', { cap: folder.rootCap, target: join(tmp.dir, 'restored-v'), verbose: true });
  assert.deepEqual(
    v.json
      .filter((l: any) => l.event?.type === 'backup:restore:file')
      .map((l: any) => l.event.path.slice(tmp.dir.length))
      .sort(),
    ['/restored-v/a.txt', '/restored-v/sub/big.bin'],
    'verbose: a line per file'
  );
  const vs = v.json.filter((l: any) => l.event?.type === 'backup:restore:status').at(-1)?.event;
  assert.deepEqual([vs?.files, vs?.totalFiles], [2, 2], 'a whole snapshot: totals from its stats');
  assert.equal(await readFile(join(target, 'a.txt'), 'utf8'), 'hello api\n');
  const forget = await call('POST', '/api/forget', { folder: source, keepLast: 5 });
  assert.equal(forget.status, 200, JSON.stringify(forget.json));
});

test('files: put by path and by stream, get by cap', async () => {
  const bytes = randomBytes(200_000);
  const path = join(tmp.dir, 'one.bin');
  await writeFile(path, bytes);
  const put = await call('POST', '/api/files', { path });
  assert.equal(put.status, 200, JSON.stringify(put.json));
  assert.match(put.json.cap, /^p2pb:blob:/);
  const got = await fetch(`${url}/api/files/${encodeURIComponent(put.json.cap)}`, { headers: auth });
  assert.equal(sha(new Uint8Array(await got.arrayBuffer())), sha(bytes));
  const streamed = await fetch(`${url}/api/files`, { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: bytes });
  const again = (await streamed.json()) as any;
  assert.equal(again.cap, put.json.cap, 'same bytes, same cap (convergent per owner)');
  assert.equal(again.blobsNew, 0, 'and nothing stored twice');
  const peers = await call('GET', '/api/peers');
  assert.equal(peers.json.peers.length >= 5, true);
});

test("metrics: the named Prometheus series, the health loop's queue among them", async () => {
  const res = await fetch(`${url}/metrics`, { headers: auth });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/plain/);
  const text = await res.text();
  for (const name of [
    'p2pbackup_storage_offered_bytes',
    'p2pbackup_storage_used_bytes',
    'p2pbackup_shares_held',
    'p2pbackup_uploads_total',
    'p2pbackup_downloads_total',
    'p2pbackup_repair_queue',
    'p2pbackup_peers_connected'
  ]) {
    assert.match(text, new RegExp(`^${name} \\d`, 'm'), name);
  }
  assert.ok(Number(/^p2pbackup_uploads_total (\d+)/m.exec(text)![1]) >= 2, 'uploads counted');
  assert.ok(Number(/^p2pbackup_peers_connected (\d+)/m.exec(text)![1]) >= 5);
  // A storage peer holds shares and says so.
  const peer = swarm.info.peers[0];
  const ptext = await (await fetch(`${peer.apiUrl}/metrics`, { headers: { authorization: `Bearer ${(await apiFor(peer.home, peer.apiUrl)).token}` } })).text();
  assert.match(ptext, /^p2pbackup_storage_offered_bytes [1-9]/m);
  // One check per round over the folder's objects: between the first round and the end of a pass, files wait.
  let queue = 0;
  for (let i = 0; i < 60 && queue === 0; i++) {
    const m = await (await fetch(`${url}/metrics`, { headers: auth })).text();
    queue = Number(/^p2pbackup_repair_queue (\d+)/m.exec(m)![1]);
    if (queue === 0) await sleep(500);
  }
  assert.ok(queue > 0, 'the health loop reports files waiting in its pass');
});

test('a read-only light node browses and downloads by read cap and refuses every write', async () => {
  const home = join(tmp.dir, 'light');
  await initHome(home, { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, offer: '0' });
  let child: ChildProcess | undefined;
  try {
    const d = await spawnDaemon(home, ['--read-only', '--bootstrap', ...swarm.info.peers.flatMap((p) => p.addresses)]);
    child = d.child;
    const light = { authorization: `Bearer ${(await apiFor(home, d.member.apiUrl)).token}` };
    const at = (path: string, init: RequestInit = {}) =>
      fetch(d.member.apiUrl + path, { ...init, headers: { ...light, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
    const st = (await (await at('/api/status')).json()) as any;
    assert.equal(st.readOnly, true);
    assert.equal(st.storage.offered, 0);
    for (const [method, path, body] of [
      ['POST', '/api/folders', { path: source }],
      ['POST', '/api/backup', { path: source }],
      ['POST', '/api/files', { path: join(source, 'a.txt') }],
      ['DELETE', '/api/folders?folder=x', undefined],
      ['POST', '/api/forget', { folder: 'x', keepLast: 1 }]
    ] as const) {
      const r = await at(path, { method, body: body ? JSON.stringify(body) : undefined });
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(((await r.json()) as any).code, 'ERR_READ_ONLY');
    }
    // Browsing needs the swarm: retry while the light node finds its peers.
    let entries: any;
    for (let i = 0; i < 30 && !entries; i++) {
      const r = await at(`/api/ls?cap=${encodeURIComponent(folder.rootCap)}`);
      if (r.ok) entries = ((await r.json()) as any).entries;
      else await new Promise((ok) => setTimeout(ok, 500));
    }
    assert.ok(entries?.some((e: any) => e.name === 'a.txt'));
    const f = await at(`/api/snapshot-file?${new URLSearchParams({ cap: folder.rootCap, path: 'a.txt' })}`);
    assert.equal(await f.text(), 'hello api\n');
  } finally {
    child?.kill('SIGTERM');
    if (child && child.exitCode === null) await new Promise((r) => child!.once('exit', r));
  }
});

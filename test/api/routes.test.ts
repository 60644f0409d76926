// Every route of the API against a real client daemon joined to five storage peers on loopback:
// the happy path and the bad inputs (no token, wrong token, bad cap, unknown folder, path outside the
// allowed roots), the OpenAPI document, the metrics, the event stream during a backup, and a
// read-only light node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startSwarm, spawnDaemon, type Swarm } from '../../src/peer/swarm.ts';
import { initHome } from '../../src/peer/init.ts';
import { apiFor, tempDir } from '../integration/helpers.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let swarm: Swarm;
let tmp: { dir: string; cleanup: () => Promise<void> };
let url: string;
let auth: Record<string, string>;

before(async () => {
  tmp = await tempDir('p2pb-api-');
  swarm = await startSwarm({ dir: tmp.dir, peers: 5 });
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
  const json = text === null ? null : type.startsWith('application/json') ? JSON.parse(text) : text.trim().split('\n').map((l) => JSON.parse(l));
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

test('auth: every route but health, the OpenAPI document and the UI needs the token', async () => {
  assert.equal((await call('GET', '/api/health', undefined, {})).status, 200);
  for (const [method, path] of [['GET', '/api/status'], ['GET', '/api/folders'], ['POST', '/api/folders'], ['GET', '/metrics'], ['GET', '/api/events'], ['GET', '/api/caps/qr?cap=x'], ['GET', '/api/nope']]) {
    expectError(await call(method, path, undefined, {}), 401, 'ERR_UNAUTHORIZED');
    expectError(await call(method, path, undefined, { authorization: 'Bearer wrong-token' }), 401, 'ERR_UNAUTHORIZED');
  }
  const ui = await fetch(`${url}/`);
  assert.equal(ui.status, 200);
  assert.match(await ui.text(), /<title>p2pbackup<\/title>/);
  assert.match(ui.headers.get('content-security-policy')!, /default-src 'self'/);
  expectError(await call('GET', '/api/nope'), 404, 'ERR_NOT_FOUND');
});

test('the OpenAPI document lists every route with its schemas', async () => {
  const r = await call('GET', '/api/openapi.json', undefined, {});
  assert.equal(r.status, 200);
  const doc = r.json;
  assert.match(doc.openapi, /^3\./);
  const want: [string, string][] = [
    ['get', '/api/health'], ['get', '/api/status'], ['get', '/api/peers'], ['post', '/api/files'], ['get', '/api/files/{cap}'],
    ['get', '/api/folders'], ['post', '/api/folders'], ['delete', '/api/folders'], ['post', '/api/backup'], ['get', '/api/snapshots'],
    ['get', '/api/ls'], ['get', '/api/diff'], ['post', '/api/restore'], ['post', '/api/forget'], ['get', '/api/snapshot-file'],
    ['get', '/api/caps/verify'], ['get', '/api/caps/qr'], ['get', '/api/events'], ['get', '/metrics'], ['get', '/api/openapi.json']
  ];
  for (const [m, p] of want) assert.ok(doc.paths[p]?.[m], `${m.toUpperCase()} ${p} is documented`);
  for (const [p, item] of Object.entries<any>(doc.paths)) {
    for (const [m, op] of Object.entries<any>(item)) assert.ok(op.responses?.['200'] ?? op.responses?.['default'], `${m} ${p} documents its answer`);
  }
  assert.deepEqual(doc.paths['/api/health'].get.security, [], 'health is open');
  assert.ok(doc.components.securitySchemes.bearer);
  assert.ok(doc.paths['/api/folders'].post.requestBody, 'bodies are documented');
  assert.ok(doc.components.schemas.Error || JSON.stringify(doc).includes('"code"'), 'the error shape is documented');
});

test('folders: add (bad inputs refused), backup with live state on the event stream', async () => {
  source = join(tmp.dir, 'src');
  await mkdir(join(source, 'sub'), { recursive: true });
  await writeFile(join(source, 'a.txt'), 'hello api\n');
  await writeFile(join(source, 'sub', 'big.bin'), randomBytes(300_000));

  expectError(await call('POST', '/api/folders', {}), 400, 'ERR_BAD_REQUEST');
  expectError(await call('POST', '/api/folders', { path: 42 }), 400, 'ERR_BAD_REQUEST');
  expectError(await call('POST', '/api/folders', { path: 'relative/dir' }), 400, 'ERR_BAD_REQUEST');
  expectError(await call('POST', '/api/folders', { path: '/etc' }), 403, 'ERR_PATH_NOT_ALLOWED');
  expectError(await call('POST', '/api/backup', { path: '/etc' }), 403, 'ERR_PATH_NOT_ALLOWED');
  expectError(await call('POST', '/api/folders', { path: join(tmp.dir, 'missing') }), 400, 'ERR_USAGE');
  expectError(await call('DELETE', '/api/folders?folder=no-such-folder'), 404, 'ERR_NOT_FOUND');
  expectError(await call('GET', '/api/snapshots?of=no-such-folder'), 404, 'ERR_NOT_FOUND');

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

test('snapshots, ls, diff, snapshot-file download, restore (bad caps and targets refused)', async () => {
  const snaps = await call('GET', `/api/snapshots?of=${encodeURIComponent(folder.rootCap)}`);
  assert.equal(snaps.status, 200);
  assert.equal(snaps.json.snapshots.length, 1);
  const snap = snaps.json.snapshots[0].cap;
  const ls = await call('GET', `/api/ls?cap=${encodeURIComponent(folder.rootCap)}`);
  assert.deepEqual(ls.json.entries.map((e: any) => e.name).sort(), ['a.txt', 'sub']);
  const sub = await call('GET', `/api/ls?${new URLSearchParams({ cap: snap, path: 'sub' })}`);
  assert.equal(sub.json.entries[0].name, 'big.bin');
  expectError(await call('GET', '/api/ls?cap=p2pb:mr:nonsense:0000'), 400, /^ERR_CAP_/);
  expectError(await call('GET', '/api/ls'), 400, 'ERR_BAD_REQUEST');
  expectError(await call('GET', `/api/ls?${new URLSearchParams({ cap: snap, path: 'nope' })}`), 404, 'ERR_BACKUP_PATH_NOT_FOUND');
  const diff = await call('GET', `/api/diff?${new URLSearchParams({ a: snap, b: folder.rootCap })}`);
  assert.equal(diff.status, 200);
  expectError(await call('GET', `/api/diff?a=${encodeURIComponent(snap)}`), 400, 'ERR_BAD_REQUEST');

  const file = await fetch(`${url}/api/snapshot-file?${new URLSearchParams({ cap: folder.rootCap, path: 'sub/big.bin' })}`, { headers: auth });
  assert.equal(file.status, 200);
  assert.match(file.headers.get('content-disposition')!, /filename="big.bin"/);
  assert.equal(sha(new Uint8Array(await file.arrayBuffer())), sha(await readFile(join(source, 'sub', 'big.bin'))));
  expectError(await call('GET', `/api/snapshot-file?${new URLSearchParams({ cap: snap, path: 'sub' })}`), 400, 'ERR_NOT_A_FILE');
  expectError(await call('GET', `/api/snapshot-file?${new URLSearchParams({ cap: 'p2pb:chk:zz:zz', path: 'a.txt' })}`), 400, /^ERR_CAP_/);

  const target = join(tmp.dir, 'restored');
  const r = await call('POST', '/api/restore', { cap: folder.rootCap, target, path: 'a.txt' });
  assert.equal(r.status, 200);
  const end = last(r.json);
  assert.equal(end.result.stats.files, 1, JSON.stringify(end));
  const st = r.json.filter((l: any) => l.event?.type === 'backup:restore:status').at(-1)?.event;
  assert.deepEqual([st?.files, st?.totalFiles, st?.bytes, st?.totalBytes], [1, 1, 10, 10], 'restore reports progress with totals (the walked path)');
  assert.ok(!r.json.some((l: any) => l.event?.type === 'backup:restore:file'), 'no per-file lines unless asked');
  const v = await call('POST', '/api/restore', { cap: folder.rootCap, target: join(tmp.dir, 'restored-v'), verbose: true });
  assert.deepEqual(v.json.filter((l: any) => l.event?.type === 'backup:restore:file').map((l: any) => l.event.path.slice(tmp.dir.length)).sort(), ['/restored-v/a.txt', '/restored-v/sub/big.bin'], 'verbose: a line per file');
  const vs = v.json.filter((l: any) => l.event?.type === 'backup:restore:status').at(-1)?.event;
  assert.deepEqual([vs?.files, vs?.totalFiles], [2, 2], 'a whole snapshot: totals from its stats');
  assert.equal(await readFile(join(target, 'a.txt'), 'utf8'), 'hello api\n');
  expectError(await call('POST', '/api/restore', { cap: folder.rootCap, target: '/etc/p2pb-nope' }), 403, 'ERR_PATH_NOT_ALLOWED');
  expectError(await call('POST', '/api/restore', { cap: folder.rootCap, target, overwrite: 'sometimes' }), 400, 'ERR_BAD_REQUEST');
  expectError(await call('POST', '/api/restore', { cap: 'p2pb:mr:bad:bad', target }), 400, /^ERR_CAP_/);

  expectError(await call('POST', '/api/forget', { folder: source }), 400, 'ERR_BAD_REQUEST');
  expectError(await call('POST', '/api/forget', { folder: 'nobody', keepLast: 1 }), 404, 'ERR_NOT_FOUND');
  const forget = await call('POST', '/api/forget', { folder: source, keepLast: 5 });
  assert.equal(forget.status, 200, JSON.stringify(forget.json));
});

test('files: put by path and by stream, get by cap; bad caps and outside paths refused', async () => {
  const bytes = randomBytes(200_000);
  const path = join(tmp.dir, 'one.bin');
  await writeFile(path, bytes);
  const put = await call('POST', '/api/files', { path });
  assert.equal(put.status, 200, JSON.stringify(put.json));
  assert.match(put.json.cap, /^p2pb:chk:/);
  const got = await fetch(`${url}/api/files/${encodeURIComponent(put.json.cap)}`, { headers: auth });
  assert.equal(sha(new Uint8Array(await got.arrayBuffer())), sha(bytes));
  const streamed = await fetch(`${url}/api/files`, { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: bytes });
  assert.equal(((await streamed.json()) as any).cap, put.json.cap, 'same bytes, same cap (convergent)');
  expectError(await call('POST', '/api/files', { path: '/etc/hostname' }), 403, 'ERR_PATH_NOT_ALLOWED');
  expectError(await call('POST', '/api/files?k=lots', { path }), 400, 'ERR_BAD_REQUEST');
  expectError(await call('GET', `/api/files/${encodeURIComponent(put.json.cap.slice(0, -3) + 'aaa')}`), 400, /^ERR_CAP_/);
  const peers = await call('GET', '/api/peers');
  assert.equal(peers.json.peers.length >= 5, true);
});

test('caps: verify cap derived, QR as SVG and PNG, bad caps refused with their code', async () => {
  const v = await call('GET', `/api/caps/verify?cap=${encodeURIComponent(folder.rootCap)}`);
  assert.equal(v.status, 200);
  assert.equal(v.json.type, 'mr');
  assert.match(v.json.verifyCap, /^p2pb:mv:/);
  expectError(await call('GET', '/api/caps/verify?cap=p2pb:chk:aaaa:bbbb'), 400, /^ERR_CAP_/);
  expectError(await call('GET', '/api/caps/verify'), 400, 'ERR_BAD_REQUEST');
  const svg = await fetch(`${url}/api/caps/qr?cap=${encodeURIComponent(folder.rootCap)}`, { headers: auth });
  assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
  assert.match(await svg.text(), /^<svg/);
  const png = await fetch(`${url}/api/caps/qr?format=png&cap=${encodeURIComponent(folder.rootCap)}`, { headers: auth });
  assert.equal(png.headers.get('content-type'), 'image/png');
  assert.deepEqual([...new Uint8Array(await png.arrayBuffer()).slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  expectError(await call('GET', `/api/caps/qr?format=gif&cap=${encodeURIComponent(folder.rootCap)}`), 400, 'ERR_BAD_REQUEST');
  expectError(await call('GET', '/api/caps/qr?cap=hello'), 400, /^ERR_CAP_/);
});

test('metrics: the named Prometheus series', async () => {
  const res = await fetch(`${url}/metrics`, { headers: auth });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/plain/);
  const text = await res.text();
  for (const name of ['p2pbackup_storage_offered_bytes', 'p2pbackup_storage_used_bytes', 'p2pbackup_shares_held', 'p2pbackup_uploads_total', 'p2pbackup_downloads_total', 'p2pbackup_repair_queue', 'p2pbackup_peers_connected']) {
    assert.match(text, new RegExp(`^${name} \\d`, 'm'), name);
  }
  assert.ok(Number(/^p2pbackup_uploads_total (\d+)/m.exec(text)![1]) >= 2, 'uploads counted');
  assert.ok(Number(/^p2pbackup_peers_connected (\d+)/m.exec(text)![1]) >= 5);
  // A storage peer holds shares and says so.
  const peer = swarm.info.peers[0];
  const ptext = await (await fetch(`${peer.apiUrl}/metrics`, { headers: { authorization: `Bearer ${(await apiFor(peer.home, peer.apiUrl)).token}` } })).text();
  assert.match(ptext, /^p2pbackup_storage_offered_bytes [1-9]/m);
});

test('a read-only light node browses and downloads by read cap and refuses every write', async () => {
  const home = join(tmp.dir, 'light');
  await initHome(home, { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, offer: '0' });
  let child: ChildProcess | undefined;
  try {
    const d = await spawnDaemon(home, ['--read-only', '--bootstrap', ...swarm.info.peers.flatMap((p) => p.addresses)]);
    child = d.child;
    const light = { authorization: `Bearer ${(await apiFor(home, d.member.apiUrl)).token}` };
    const at = (path: string, init: RequestInit = {}) => fetch(d.member.apiUrl + path, { ...init, headers: { ...light, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
    const st = await (await at('/api/status')).json() as any;
    assert.equal(st.readOnly, true);
    assert.equal(st.storage.offered, 0);
    for (const [method, path, body] of [['POST', '/api/folders', { path: source }], ['POST', '/api/backup', { path: source }], ['POST', '/api/files', { path: join(source, 'a.txt') }], ['DELETE', '/api/folders?folder=x', undefined], ['POST', '/api/forget', { folder: 'x', keepLast: 1 }]] as const) {
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

// Every route of the API against a stub service (test/api/stub.ts) through fastify's `app.inject()`: no
// sockets, no swarm, milliseconds. Auth on every route the OpenAPI document lists (and on the routes
// outside /api), the document itself, bad inputs and the error table, NDJSON operations, a read-only
// node, the metrics. test/api/swarm.test.ts runs the API end to end on a real swarm.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApp } from '../../src/api/app.ts';
import { tempDir } from '../integration/helpers.ts';
import { createStub, ENDLESS_CAP, FILE_BYTES, LOST_CAP, ROOT_CAP, type Stub } from './stub.ts';
import type { ProgressEvent } from '../../src/api/service.ts';

const TOKEN = 'stub-token';
const auth = { authorization: `Bearer ${TOKEN}` };
let tmp: { dir: string; cleanup: () => Promise<void> };
let stub: Stub;
let app: FastifyInstance;

before(async () => {
  tmp = await tempDir('p2pb-routes-');
  stub = createStub({ repairQueue: 7 });
  app = await createApp({ peer: stub, token: TOKEN, allowedRoots: [tmp.dir] });
});
after(async () => {
  await app?.close();
  await tmp?.cleanup();
});

async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = auth, on = app) {
  const res = await on.inject({ method: method as 'GET', url, headers, ...(body === undefined ? {} : { payload: body as object }) });
  const type = String(res.headers['content-type'] ?? '');
  const json = type.startsWith('application/json')
    ? res.json()
    : type.startsWith('application/x-ndjson')
      ? res.body
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
      : null;
  return { status: res.statusCode, json: json as any, res };
}
const expectError = (r: { status: number; json: any }, status: number, code: string | RegExp) => {
  assert.equal(r.status, status, JSON.stringify(r.json));
  if (typeof code === 'string') assert.equal(r.json.code, code);
  else assert.match(r.json.code, code);
  assert.equal(typeof r.json.message, 'string');
};
const q = (o: Record<string, string>) => new URLSearchParams(o).toString();

test('auth: every route of the OpenAPI document refuses a missing or wrong token, but the public ones', async () => {
  const doc = (await call('GET', '/api/openapi.json', undefined, {})).json;
  const open: string[] = [];
  let routes = 0;
  for (const [path, item] of Object.entries<Record<string, { security?: unknown[] }>>(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const url = path.replace(/\{[^}]+\}/g, 'x');
      const isPublic = Array.isArray(op.security) && op.security.length === 0;
      if (isPublic) open.push(`${method.toUpperCase()} ${path}`);
      for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }] as Record<
        string,
        string
      >[]) {
        const r = await call(method.toUpperCase(), url, undefined, headers);
        if (isPublic) assert.notEqual(r.status, 401, `${method} ${path} is public`);
        else expectError(r, 401, 'ERR_UNAUTHORIZED');
      }
      routes++;
    }
  }
  assert.ok(routes >= 26, `${routes} routes documented`);
  assert.deepEqual(open.sort(), ['GET /api/health', 'GET /api/openapi.json'], 'only these need no token');
  assert.equal(stub.calls.length, 0, 'no request without the token reached the service');
  // Outside /api: the web UI stays public, the metrics do not; an unknown /api URL asks for the token before it 404s.
  const ui = await call('GET', '/', undefined, {});
  assert.equal(ui.status, 200);
  assert.match(ui.res.body, /p2pbackup/);
  expectError(await call('GET', '/metrics', undefined, {}), 401, 'ERR_UNAUTHORIZED');
  expectError(await call('GET', '/api/nope', undefined, {}), 401, 'ERR_UNAUTHORIZED');
  expectError(await call('GET', '/api/nope'), 404, 'ERR_NOT_FOUND');
});

test('the OpenAPI document lists every route with its schemas', async () => {
  const doc = (await call('GET', '/api/openapi.json', undefined, {})).json;
  assert.match(doc.openapi, /^3\./);
  const want: [string, string][] = [
    ['get', '/api/health'],
    ['get', '/api/status'],
    ['get', '/api/peers'],
    ['post', '/api/files'],
    ['get', '/api/files/{cap}'],
    ['get', '/api/folders'],
    ['post', '/api/folders'],
    ['delete', '/api/folders'],
    ['post', '/api/backup'],
    ['get', '/api/snapshots'],
    ['get', '/api/ls'],
    ['get', '/api/diff'],
    ['post', '/api/restore'],
    ['post', '/api/forget'],
    ['get', '/api/snapshot-file'],
    ['get', '/api/caps/verify'],
    ['get', '/api/caps/qr'],
    ['get', '/api/events'],
    ['get', '/metrics'],
    ['get', '/api/openapi.json'],
    ['post', '/api/check'],
    ['get', '/api/health/state'],
    ['get', '/api/health/audits'],
    ['get', '/api/fairness'],
    ['post', '/api/fairness/check'],
    ['post', '/api/ping'],
    ['get', '/api/operations'],
    ['post', '/api/operations/{id}/cancel'],
    ['get', '/api/swarm']
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

test('bad inputs are refused with their code and status before the service is asked', async () => {
  const before = stub.calls.length;
  expectError(await call('POST', '/api/folders', {}), 400, 'ERR_BAD_REQUEST');
  expectError(await call('POST', '/api/folders', { path: 42 }), 400, 'ERR_BAD_REQUEST');
  expectError(await call('POST', '/api/folders', { path: 'relative/dir' }), 400, 'ERR_BAD_REQUEST');
  expectError(await call('POST', '/api/folders', { path: '/etc' }), 403, 'ERR_PATH_NOT_ALLOWED');
  expectError(await call('POST', '/api/backup', { path: '/etc' }), 403, 'ERR_PATH_NOT_ALLOWED');
  expectError(await call('POST', '/api/files', { path: '/etc/hostname' }), 403, 'ERR_PATH_NOT_ALLOWED');
  expectError(await call('POST', '/api/files?k=lots', { path: join(tmp.dir, 'f') }), 400, 'ERR_BAD_REQUEST');
  expectError(await call('POST', '/api/restore', { cap: ROOT_CAP, target: '/etc/p2pb-nope' }), 403, 'ERR_PATH_NOT_ALLOWED');
  expectError(await call('POST', '/api/restore', { cap: ROOT_CAP, target: tmp.dir, overwrite: 'sometimes' }), 400, 'ERR_BAD_REQUEST');
  expectError(await call('POST', '/api/restore', { cap: 'p2pb:mr:bad:bad', target: tmp.dir }), 400, /^ERR_CAP_/);
  expectError(await call('POST', '/api/forget', { folder: 'x' }), 400, 'ERR_BAD_REQUEST');
  expectError(await call('POST', '/api/check', { cap: ROOT_CAP, deep: 'yes' }), 400, 'ERR_BAD_REQUEST');
  expectError(await call('GET', '/api/ls'), 400, 'ERR_BAD_REQUEST');
  expectError(await call('GET', `/api/diff?${q({ a: ROOT_CAP })}`), 400, 'ERR_BAD_REQUEST');
  expectError(await call('GET', '/api/caps/verify'), 400, 'ERR_BAD_REQUEST');
  expectError(await call('GET', `/api/caps/qr?${q({ cap: ROOT_CAP, format: 'gif' })}`), 400, 'ERR_BAD_REQUEST');
  expectError(await call('GET', '/api/caps/qr?cap=hello'), 400, /^ERR_CAP_/);
  expectError(await call('GET', '/api/caps/verify?cap=p2pb:chk:aaaa:bbbb'), 400, /^ERR_CAP_/);
  expectError(await call('POST', '/api/restore', { cap: ROOT_CAP, target: tmp.dir, limitBytesPerSecond: 10 }), 400, 'ERR_BAD_REQUEST');
  expectError(await call('POST', '/api/restore', { cap: ROOT_CAP, target: tmp.dir, detach: 'please' }), 400, 'ERR_BAD_REQUEST');
  expectError(await call('GET', `/api/snapshots?${q({ of: ROOT_CAP, details: 'yes' })}`), 400, 'ERR_BAD_REQUEST');
  expectError(await call('POST', `/api/operations/${'x'.repeat(65)}/cancel`), 400, 'ERR_BAD_REQUEST');
  assert.equal(stub.calls.length, before, 'none reached the service');
});

test("the service's errors come back through the one table: status and { code, message }", async () => {
  expectError(await call('POST', '/api/folders', { path: join(tmp.dir, 'missing') }), 400, 'ERR_USAGE');
  expectError(await call('DELETE', '/api/folders?folder=no-such-folder'), 404, 'ERR_NOT_FOUND');
  expectError(await call('GET', '/api/snapshots?of=no-such-folder'), 404, 'ERR_NOT_FOUND');
  expectError(await call('POST', '/api/forget', { folder: 'nobody', keepLast: 1 }), 404, 'ERR_NOT_FOUND');
  expectError(await call('GET', '/api/ls?cap=p2pb:mr:nonsense:0000'), 400, /^ERR_CAP_/);
  expectError(await call('GET', `/api/ls?${q({ cap: ROOT_CAP, path: 'nope' })}`), 404, 'ERR_BACKUP_PATH_NOT_FOUND');
  expectError(await call('GET', `/api/snapshot-file?${q({ cap: ROOT_CAP, path: 'sub' })}`), 400, 'ERR_NOT_A_FILE');
  expectError(await call('GET', `/api/files/${encodeURIComponent('p2pb:chk:zz:zz')}`), 400, /^ERR_CAP_/);
  expectError(await call('GET', '/api/health/state'), 501, 'ERR_UNSUPPORTED');
  expectError(await call('POST', '/api/operations/no-such-operation/cancel'), 404, 'ERR_NOT_FOUND');
  // A long operation has answered 200 before it fails: the error is its last NDJSON line, with the status.
  const lost = await call('POST', '/api/restore', { cap: LOST_CAP, target: tmp.dir });
  assert.equal(lost.status, 200);
  assert.deepEqual([lost.json.at(-1).error.code, lost.json.at(-1).status], ['ERR_NOT_ENOUGH_SHARES', 503]);
});

test('operations: folders, backup and restore as NDJSON (per-item lines only when asked), files, check, ping', async () => {
  const dir = join(tmp.dir, 'src');
  await mkdir(dir, { recursive: true });
  const added = await call('POST', '/api/folders', { path: dir, excludes: ['*.tmp'] });
  assert.equal(added.status, 200, JSON.stringify(added.json));
  assert.equal(added.json.rootCap, ROOT_CAP);
  assert.ok(!JSON.stringify(added.json).includes('p2pb:mw:'), 'never the write cap');
  assert.deepEqual(
    (await call('GET', '/api/folders')).json.folders.map((f: any) => f.path),
    [dir]
  );

  const backup = await call('POST', '/api/backup', { path: dir });
  assert.deepEqual(
    backup.json.map((l: any) => l.event?.type ?? Object.keys(l)[0]),
    ['backup:backup:status', 'result']
  );
  const verbose = await call('POST', '/api/backup', { path: dir, verbose: true });
  assert.deepEqual(
    verbose.json.map((l: any) => l.event?.type ?? Object.keys(l)[0]),
    ['backup:backup:file', 'backup:backup:status', 'result']
  );
  const restored = await call('POST', '/api/restore', { cap: ROOT_CAP, target: join(tmp.dir, 'out'), path: 'a.txt', overwrite: 'always' });
  assert.equal(restored.json.at(-1).result.stats.files, 1);
  assert.deepEqual(
    stub.calls
      .filter((c) => c.method === 'restore')
      .at(-1)!
      .args.slice(0, 2),
    [ROOT_CAP, join(tmp.dir, 'out')]
  );

  assert.deepEqual(
    (await call('GET', `/api/snapshots?of=${encodeURIComponent(dir)}`)).json.snapshots.map((x: any) => Object.keys(x)),
    [
      ['cap', 'time'],
      ['cap', 'time'],
      ['cap', 'time']
    ]
  );
  // With details: each snapshot's stats (bytes added when recorded), or why it could not be read.
  const detailed = (await call('GET', `/api/snapshots?${q({ of: dir, details: '1' })}`)).json.snapshots;
  assert.deepEqual(
    detailed.map((x: any) => [x.stats?.added ?? null, x.error ?? null]),
    [
      [null, null],
      [10, null],
      [null, 'unreadable']
    ]
  );
  assert.deepEqual(
    stub.calls
      .filter((c) => c.method === 'snapshots')
      .slice(-2)
      .map((c) => (c.args[1] as any).details),
    [false, true]
  );
  assert.deepEqual(
    (await call('GET', `/api/ls?cap=${encodeURIComponent(ROOT_CAP)}`)).json.entries.map((e: any) => e.name),
    ['a.txt']
  );
  assert.deepEqual((await call('GET', `/api/diff?${q({ a: ROOT_CAP, b: ROOT_CAP })}`)).json.added, ['/n']);
  const file = await call('GET', `/api/snapshot-file?${q({ cap: ROOT_CAP, path: 'a.txt' })}`);
  assert.equal(file.res.body, FILE_BYTES.toString());
  assert.match(String(file.res.headers['content-disposition']), /filename="a.txt"/);
  assert.equal((await call('POST', '/api/forget', { folder: dir, keepLast: 5 })).status, 200);
  assert.equal((await call('DELETE', `/api/folders?folder=${encodeURIComponent(dir)}`)).json.path, dir);

  const path = join(tmp.dir, 'one.bin');
  await writeFile(path, 'x');
  assert.equal((await call('POST', '/api/files?k=2&n=4', { path })).json.cap, 'p2pb:chk:stub');
  assert.deepEqual(stub.calls.filter((c) => c.method === 'putFile').at(-1)!.args, [{ path }, { k: 2, n: 4, happy: undefined }]);
  const streamed = await app.inject({
    method: 'POST',
    url: '/api/files?progress=1',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    payload: Buffer.from('bytes')
  });
  assert.deepEqual(
    streamed.body
      .trim()
      .split('\n')
      .map((l) => Object.keys(JSON.parse(l))[0]),
    ['event', 'result']
  );
  assert.equal((await call('GET', `/api/files/${encodeURIComponent(ROOT_CAP)}`)).res.body, FILE_BYTES.toString());
  assert.equal((await call('POST', '/api/check', { cap: ROOT_CAP, deep: true })).json.at(-1).result.recoverable, true);
  assert.deepEqual(stub.calls.filter((c) => c.method === 'check').at(-1)!.args, [ROOT_CAP, { deep: true, verify: false, repair: false }]);
  assert.equal((await call('POST', '/api/ping', { address: '/ip4/127.0.0.1/tcp/1' })).json.ms, 1);
});

test('caps: verify cap derived, QR as SVG and PNG', async () => {
  const v = await call('GET', `/api/caps/verify?cap=${encodeURIComponent(ROOT_CAP)}`);
  assert.equal(v.json.type, 'mr');
  assert.match(v.json.verifyCap, /^p2pb:mv:/);
  const svg = await call('GET', `/api/caps/qr?cap=${encodeURIComponent(ROOT_CAP)}`);
  assert.equal(svg.res.headers['content-type'], 'image/svg+xml');
  assert.match(svg.res.body, /^<svg/);
  const png = await call('GET', `/api/caps/qr?${q({ cap: ROOT_CAP, format: 'png' })}`);
  assert.equal(png.res.headers['content-type'], 'image/png');
  assert.deepEqual([...png.res.rawPayload.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
});

test('metrics: the named Prometheus series, read from the service at scrape time', async () => {
  const r = await call('GET', '/metrics');
  assert.equal(r.status, 200);
  assert.match(String(r.res.headers['content-type']), /^text\/plain/);
  const value = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(r.res.body)?.[1]);
  assert.deepEqual(
    [
      'p2pbackup_storage_offered_bytes',
      'p2pbackup_storage_used_bytes',
      'p2pbackup_shares_held',
      'p2pbackup_uploads_total',
      'p2pbackup_downloads_total',
      'p2pbackup_repair_queue',
      'p2pbackup_peers_connected'
    ].map(value),
    [100, 10, 1, 3, 1, 7, 2]
  );
});

test('a read-only node refuses every route that writes, before the service is asked, and serves the rest', async () => {
  const ro = createStub({ readOnly: true });
  const light = await createApp({ peer: ro, token: TOKEN, allowedRoots: [tmp.dir], web: false });
  try {
    for (const [method, path, body] of [
      ['POST', '/api/folders', { path: tmp.dir }],
      ['POST', '/api/backup', { path: tmp.dir }],
      ['POST', '/api/files', { path: join(tmp.dir, 'one.bin') }],
      ['DELETE', '/api/folders?folder=x', undefined],
      ['POST', '/api/forget', { folder: 'x', keepLast: 1 }]
    ] as const) {
      expectError(await call(method, path, body, auth, light), 403, 'ERR_READ_ONLY');
    }
    assert.deepEqual(ro.calls, []);
    assert.equal((await call('GET', `/api/ls?cap=${encodeURIComponent(ROOT_CAP)}`, undefined, auth, light)).status, 200);
    assert.equal((await call('GET', '/api/status', undefined, auth, light)).json.readOnly, true);
  } finally {
    await light.close();
  }
});

test('the swarm: peers with their space and round trip, and the totals', async () => {
  const r = await call('GET', '/api/swarm');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.totals, { peers: 3, answered: 2, offered: 1100, used: 110, free: 990 });
  assert.deepEqual(
    r.json.peers.map((p: any) => [p.id, p.latencyMs, p.offered, p.error ?? null]),
    [
      ['p1', 2, 1000, null],
      ['p2', null, null, 'timed out']
    ]
  );
});

test('long operations by id: listed with their progress, followed on the event stream, cancelled; a detached one outlives its connection', async () => {
  // Over a socket, not inject(): "the client went away" is a closed connection.
  const s = createStub();
  const server = await createApp({ peer: s, token: TOKEN, allowedRoots: [tmp.dir], web: false });
  const seen: ProgressEvent[] = [];
  s.subscribe((e) => seen.push(e));
  const base = await server.listen({ port: 0, host: '127.0.0.1' });
  const get = async (url: string, method = 'GET') => (await fetch(base + url, { method, headers: auth })).json() as Promise<any>;
  const ops = async () => (await get('/api/operations')).operations as any[];
  const until = async <T>(what: string, f: () => Promise<T | undefined>): Promise<T> => {
    for (let i = 0; i < 500; i++) {
      const v = await f();
      if (v) return v;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  /** Start a restore of the endless cap, read its first line, then hang up. */
  const startAndHangUp = async (detach: boolean) => {
    const controller = new AbortController();
    const res = await fetch(base + '/api/restore', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ cap: ENDLESS_CAP, target: join(tmp.dir, 'endless'), detach }),
      signal: controller.signal
    });
    const reader = res.body!.getReader();
    const first = JSON.parse(new TextDecoder().decode((await reader.read()).value!).split('\n')[0]);
    assert.equal(first.event.type, 'backup:restore:status');
    controller.abort();
    await reader.cancel().catch(() => {});
  };
  try {
    // Without detach, hanging up cancels it (the CLI's Ctrl-C).
    await startAndHangUp(false);
    const gone = await until('the attached restore to end', async () => (await ops()).find((o) => o.state !== 'running'));
    assert.equal(gone.state, 'cancelled');
    assert.equal(gone.error.code, 'ERR_ABORTED', 'a named reason, not an AbortError (ERR_INTERNAL)');

    // Detached, it runs on with its progress; the list has it, running first.
    await startAndHangUp(true);
    const progressed = await until('the detached restore to progress after its client left', async () => {
      const [op] = await ops();
      return op.state === 'running' && op.progress.files >= 5 ? op : undefined;
    });
    assert.deepEqual([progressed.kind, progressed.origin, progressed.progress.totalFiles, progressed.progress.totalBytes], ['restore', 'api', 1000, 1000]);
    assert.ok(progressed.progress.etaSeconds > 0 && progressed.progress.bytesPerSecond > 0);
    const cancel = await get(`/api/operations/${progressed.id}/cancel`, 'POST');
    assert.equal(cancel.operation.id, progressed.id);
    const ended = await until('the cancelled restore to end', async () => (await ops()).find((o) => o.id === progressed.id && o.state !== 'running'));
    assert.deepEqual([ended.state, ended.error.code], ['cancelled', 'ERR_ABORTED']);
    assert.ok(ended.finishedAt >= ended.startedAt);
    // Cancelling a finished one answers it as it is.
    assert.equal((await get(`/api/operations/${progressed.id}/cancel`, 'POST')).operation.state, 'cancelled');
    // The event stream told the same story: start, progress, end, for this operation.
    const mine = seen.filter((e) => (e.operation as any)?.id === progressed.id).map((e) => e.type);
    assert.equal(mine[0], 'operation:start');
    assert.ok(mine.includes('operation:progress'));
    assert.equal(mine.at(-1), 'operation:end');
  } finally {
    await server.close();
  }
});

test('reachability: status says how the peer is reached, peers how each is reached, both in the OpenAPI document', async () => {
  const s = await call('GET', '/api/status');
  assert.equal(s.status, 200);
  // Serialized through the route's schema: every field of the report gets through (none dropped).
  assert.deepEqual(s.json.reachability, (await stub.status()).reachability);
  assert.equal(s.json.folders.length, 0, 'fields outside the listed ones still pass');
  const p = await call('GET', '/api/peers');
  assert.deepEqual(
    p.json.peers.map((x: any) => [x.id, x.reach, x.relay]),
    [
      ['p1', 'direct', null],
      ['p2', 'relay', 'r1']
    ]
  );
  const doc = (await call('GET', '/api/openapi.json')).json;
  const schemas = doc.components.schemas;
  const reach = Object.values(schemas).find((x: any) => x.properties?.ways && x.properties?.relayServer) as any;
  assert.ok(reach, 'the Reachability schema is in the document');
  assert.deepEqual(reach.properties.ways.items.enum, ['public', 'upnp', 'ipv6', 'own-connections', 'relay']);
  const peer = Object.values(schemas).find((x: any) => x.properties?.reach && x.properties?.relay) as any;
  assert.deepEqual(peer.properties.reach.enum, ['direct', 'own-connection', 'relay', null]);
});

// Long operations over NDJSON (src/api/ndjson.ts) on a real HTTP server: a quiet operation still sends a line
// every heartbeat period (HTTP clients drop a body silent for minutes: fetch after 300 s), and the API client
// skips those lines and returns the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { ndjson, NDJSON_HEARTBEAT_MS } from '../../src/api/ndjson.ts';
import { ApiClient, ndjsonLines } from '../../src/api/client.ts';

test('a quiet operation sends heartbeat lines; readers skip them and get the result', async () => {
  assert.ok(NDJSON_HEARTBEAT_MS <= 60_000, 'well under the 300 s after which fetch gives up on a silent body');
  const app = Fastify();
  app.post('/op', async (_req, reply) => {
    await ndjson(
      reply,
      async (onProgress) => {
        onProgress({ type: 'start' });
        await sleep(400); // quiet, far longer than the heartbeat period
        return { done: true };
      },
      { heartbeatMs: 100 }
    );
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const res = await fetch(`${url}/op`, { method: 'POST' });
    const lines = [];
    for await (const l of ndjsonLines(res)) lines.push(l);
    assert.deepEqual(lines[0], { event: { type: 'start' } });
    assert.deepEqual(lines.at(-1), { result: { done: true } });
    const beats = lines.filter((l) => 'heartbeat' in l);
    assert.ok(beats.length >= 2, JSON.stringify(lines));
    assert.equal(beats.length, lines.length - 2, 'nothing else in between');
    const events: unknown[] = [];
    assert.deepEqual(await new ApiClient(url, 't').operation('POST', '/op', {}, { onEvent: (e) => events.push(e) }), { done: true });
    assert.deepEqual(events, [{ type: 'start' }]);
  } finally {
    await app.close();
  }
});

test('progress lines of many turns of the event loop go out together; a lone line still goes out without a next one', async () => {
  const app = Fastify();
  let seen!: () => void;
  const clientHasIt = new Promise<void>((r) => (seen = r));
  app.post('/op', async (_req, reply) => {
    await ndjson(reply, async (onProgress) => {
      // A walk of unchanged files: a line per file, a turn of the event loop per directory.
      for (let dir = 0; dir < 200; dir++) {
        for (let f = 0; f < 5; f++) onProgress({ type: 'file', n: dir * 5 + f });
        await new Promise((r) => setImmediate(r));
      }
      onProgress({ type: 'last' });
      await clientHasIt; // the client must get this line while the operation is still running
      return { done: true };
    });
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const res = await fetch(`${url}/op`, { method: 'POST' });
    let chunks = 0;
    let text = '';
    const dec = new TextDecoder();
    for await (const chunk of res.body!) {
      chunks++;
      text += dec.decode(chunk, { stream: true });
      if (text.includes('"last"')) seen();
    }
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 1002);
    assert.deepEqual(
      lines.slice(0, 1000).map((l) => l.event.n),
      [...Array(1000).keys()]
    );
    assert.deepEqual(lines.at(-1), { result: { done: true } });
    // One write per turn before: 200 or more chunks.
    assert.ok(chunks < 50, `${chunks} chunks`);
  } finally {
    await app.close();
  }
});

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

// The API's route schemas are compiled at a route's first use (src/api/lazy-compilers.ts), with Fastify's own
// compilers: responses are filtered and coerced, and bad requests refused, exactly as by an app compiling at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { lazyCompilers } from '../../src/api/lazy-compilers.ts';

function app(lazy: boolean): FastifyInstance {
  const a = Fastify(lazy ? { schemaController: { compilersFactory: lazyCompilers() } } : {});
  a.addSchema({ $id: 'Item', type: 'object', properties: { n: { type: 'integer' }, name: { type: 'string' } }, required: ['n'] });
  a.get('/item', { schema: { response: { 200: { $ref: 'Item#' } } } }, async () => ({ n: '7', name: 'x', secret: 'not in the schema' }));
  a.post('/item', { schema: { body: { $ref: 'Item#' }, response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async () => ({
    ok: true,
    extra: 1
  }));
  return a;
}

test('the same responses and the same refusals as compiling every schema at start', async () => {
  const eager = app(false);
  const lazy = app(true);
  try {
    for (const req of [
      { method: 'GET', url: '/item' },
      { method: 'POST', url: '/item', payload: { n: 3, name: 'y' } },
      { method: 'POST', url: '/item', payload: { n: 'three' } },
      { method: 'POST', url: '/item', payload: { name: 'no n' } },
      { method: 'POST', url: '/item', payload: '{not json', headers: { 'content-type': 'application/json' } }
    ] as const) {
      // Twice each: the first call compiles, the second uses what it compiled.
      for (let i = 0; i < 2; i++) {
        const [e, l] = [await eager.inject(req), await lazy.inject(req)];
        assert.equal(l.statusCode, e.statusCode, `${req.method} ${JSON.stringify(req)}`);
        assert.equal(l.body, e.body, `${req.method} ${JSON.stringify(req)}`);
      }
    }
    // What those are: the response filtered to its schema and coerced, a body that breaks it refused with Ajv's reason.
    assert.equal((await lazy.inject({ method: 'GET', url: '/item' })).body, '{"n":7,"name":"x"}');
    const bad = await lazy.inject({ method: 'POST', url: '/item', payload: { n: 'three' } });
    assert.equal(bad.statusCode, 400);
    assert.match(JSON.parse(bad.body).message, /body\/n must be integer/);
  } finally {
    await eager.close();
    await lazy.close();
  }
});

test('nothing is compiled before a route is used: a schema that cannot compile fails its route, not the start', async () => {
  const broken = (lazy: boolean) => {
    const a = Fastify(lazy ? { schemaController: { compilersFactory: lazyCompilers() } } : {});
    a.get('/fine', async () => ({ ok: true }));
    a.get('/broken', { schema: { response: { 200: { $ref: 'Missing#' } } } }, async () => ({}));
    return a;
  };
  await assert.rejects(async () => {
    await broken(false).ready();
  }, 'compiled at start, the bad schema stops the server');
  const a = broken(true);
  try {
    await a.ready();
    assert.equal((await a.inject({ method: 'GET', url: '/fine' })).statusCode, 200);
    assert.equal((await a.inject({ method: 'GET', url: '/broken' })).statusCode, 500);
  } finally {
    await a.close();
  }
});

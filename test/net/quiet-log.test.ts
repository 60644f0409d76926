// libp2p's loggers (src/net/quiet-log.ts): with DEBUG unset, one disabled logger for every component and scope,
// made once (libp2p asks for a scope per stream); with DEBUG set, libp2p's own default, which prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { libp2pLogger, quietLogger } from '../../src/net/quiet-log.ts';

test('DEBUG unset: every component and scope gets the same disabled logger, which does nothing', () => {
  const l = libp2pLogger({});
  assert.equal(l, quietLogger);
  const a = quietLogger.forComponent('libp2p:yamux');
  const b = quietLogger.forComponent('libp2p:connection');
  assert.equal(a, b, 'one logger, not one per component');
  assert.equal(a.newScope('inbound:1'), a, 'a scope is the same logger: nothing made per stream');
  assert.equal(a.enabled, false);
  assert.equal(a('message %s', 'x'), undefined);
  assert.equal(a.error(new Error('e')), undefined);
  assert.equal(a.trace('t'), undefined);
  assert.equal(libp2pLogger({ DEBUG: '  ' }), quietLogger, 'a blank DEBUG asks for nothing');
});

test("DEBUG set: libp2p's default logger is kept (undefined: createLibp2p's own)", () => {
  assert.equal(libp2pLogger({ DEBUG: 'libp2p:*' }), undefined);
  assert.equal(libp2pLogger({ DEBUG: 'libp2p:yamux' }), undefined);
});

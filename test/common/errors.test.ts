import { test } from 'node:test';
import assert from 'node:assert/strict';
import { P2PBackupError } from '../../src/common/index.ts';

test('errors carry a stable code, a name and details', () => {
  class DemoError extends P2PBackupError {}
  const e = new DemoError('ERR_DEMO', 'demo failed', { found: 1, needed: 3 });
  assert.equal(e.name, 'DemoError');
  assert.equal(e.code, 'ERR_DEMO');
  assert.deepEqual(e.details, { found: 1, needed: 3 });
  assert.ok(e instanceof Error);
});

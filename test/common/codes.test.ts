// The two tables that turn an error into an outcome (the API's HTTP status, the CLI's exit code) cover
// exactly the list of codes. Completeness is a compile-time property (`satisfies Record<ErrorCode, number>`):
// the @ts-expect-error lines below are checked by `tsc -p tsconfig.check.json`, which fails if a table
// missing a code, or one naming an unknown code, ever compiles. At run time: every code has an outcome
// that means something, and the codes that used to fall through to 500 / exit 1 no longer do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, isErrorCode, P2PBackupError, type ErrorCode } from '../../src/common/index.ts';
import { HTTP_STATUS, httpStatusOf } from '../../src/api/errors.ts';
import { EXIT, EXIT_BY_CODE, exitCodeOf } from '../../src/cli/exit-codes.ts';

// A table without ERR_USAGE does not compile ...
const { ERR_USAGE: _dropped, ...withoutUsage } = HTTP_STATUS;
// @ts-expect-error ERR_USAGE is missing
withoutUsage satisfies Record<ErrorCode, number>;
// ... nor does one with a code that is not in the list (ERR_SIZE was mapped but never thrown).
// @ts-expect-error ERR_SIZE is not an ErrorCode
({ ...EXIT_BY_CODE, ERR_SIZE: 2 }) satisfies Record<ErrorCode, number>;
// ... nor does an error built with a code that is not in the list.
// @ts-expect-error ERR_NOPE is not an ErrorCode
void (() => new P2PBackupError('ERR_NOPE', 'never'));

test('every code has an HTTP status and an exit code, and the tables name no other code', () => {
  assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length, 'no code listed twice');
  const statuses = new Set(Object.values(EXIT));
  for (const code of ERROR_CODES) {
    const err = new P2PBackupError(code, 'x');
    const status = httpStatusOf(err);
    assert.ok(status >= 400 && status <= 599, `${code}: HTTP ${status}`);
    assert.ok(statuses.has(exitCodeOf(err) as never), `${code}: exit ${exitCodeOf(err)}`);
  }
  assert.deepEqual(Object.keys(HTTP_STATUS).sort(), [...ERROR_CODES].sort());
  assert.deepEqual(Object.keys(EXIT_BY_CODE).sort(), [...ERROR_CODES].sort());
  assert.equal(isErrorCode('ERR_SIZE'), false);
  assert.equal(isErrorCode('ERR_UNREACHABLE'), false, 'one code for an unreachable peer: ERR_PEER_UNREACHABLE');
});

test('conflicts, too few replicas and failed integrity have their own outcomes, not 500 / exit 1', () => {
  const outcome = (code: ErrorCode) => {
    const e = new P2PBackupError(code, 'x');
    return [httpStatusOf(e), exitCodeOf(e)];
  };
  assert.deepEqual(outcome('ERR_RESTORE_CONFLICT'), [409, EXIT.USAGE]);
  assert.deepEqual(outcome('ERR_NOT_ENOUGH_REPLICAS'), [503, EXIT.NOT_ENOUGH_SHARES]);
  assert.deepEqual(outcome('ERR_BLOB_INTEGRITY'), [502, EXIT.CORRUPT]);
  assert.deepEqual(outcome('ERR_CAP_FORMAT_V1'), [400, EXIT.BAD_CAP]);
  assert.deepEqual(outcome('ERR_PEER_UNREACHABLE'), [502, EXIT.NOT_ENOUGH_SHARES]);
  assert.equal(EXIT.INCOMPLETE, 7, '"finished, but some items failed" keeps its own number');
  assert.equal(new Set(Object.values(EXIT)).size, Object.values(EXIT).length, 'exit codes are distinct');
});

// freePort hands out ports that callers bind a moment later (daemons, the compose entrypoint): two
// callers, in one process or in two of the suite's parallel test files, must never receive the same
// port in that moment (seen in CI: two daemons given one API port, one died with EADDRINUSE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { freePort } from '../../src/peer/swarm.ts';

const PICKS = 150;

/** PICKS ports from a fresh process, none of them bound: what parallel test files do at once. */
function picksFromAnotherProcess(): Promise<number[]> {
  const code = `import { freePort } from ${JSON.stringify(new URL('../../src/peer/swarm.ts', import.meta.url).href)};
const out = []; for (let i = 0; i < ${PICKS}; i++) out.push(await freePort()); console.log(JSON.stringify(out));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (status) => (status === 0 ? resolve(JSON.parse(out)) : reject(new Error(`picker exited ${status}`))));
  });
}

test('freePort never hands one port to two callers before either binds it, across processes', async () => {
  // 450 picks from a range of 10,000 collide with near certainty (birthday bound) unless handed-out
  // ports are reserved.
  const [a, b, mine] = await Promise.all([
    picksFromAnotherProcess(),
    picksFromAnotherProcess(),
    (async () => {
      const out: number[] = [];
      for (let i = 0; i < PICKS; i++) out.push(await freePort());
      return out;
    })()
  ]);
  const all = [...a, ...b, ...mine];
  assert.equal(all.length, 3 * PICKS);
  const seen = new Set<number>();
  const twice = all.filter((p) => (seen.has(p) ? true : (seen.add(p), false)));
  assert.deepEqual(twice, [], 'ports handed out twice');
  for (const p of all) assert.ok(p >= 1 && p < 65536);
});

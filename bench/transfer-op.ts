// One put or get through a daemon's API, run inside that daemon's network namespace by the paths bench
// (bench/transfer-paths.ts: the API listens on the namespace's loopback), timed from the request to its
// result as bench/transfer.ts times it, so node's start-up is not counted. Prints one JSON line.
//   node bench/transfer-op.ts HOME put FILE      -> { ms, cap, paths }
//   node bench/transfer-op.ts HOME get CAP OUT   -> { ms, bytes, sha256 }
import { ApiClient } from '../src/api/client.ts';
import { homePaths } from '../src/peer/home.ts';
import { get, put } from './transfer.ts';

const [home, op, a, b] = process.argv.slice(2);
const api = await ApiClient.forHome(homePaths(home));
const signal = new AbortController().signal;
if (op === 'put') {
  const r = await put(api, a, signal);
  process.stdout.write(JSON.stringify({ ms: r.ms, cap: r.cap, paths: r.paths }) + '\n');
} else if (op === 'get') {
  const r = await get(api, a, b, signal);
  process.stdout.write(JSON.stringify(r) + '\n');
} else {
  process.stderr.write('usage: transfer-op.ts HOME put FILE | HOME get CAP OUT\n');
  process.exitCode = 2;
}
